// One commit of SqliteDocStore's writes, the same on the writer thread (doc-writer.js) and on the
// caller's thread (doc-store.ts). Plain JavaScript: the writer thread has no TypeScript loader.

export const SNAPSHOT = 1

/**
 * A transaction on `db` that stores a batch: write i puts bytes[ends[i-1]..ends[i]] into docs[i]
 * and its row id into ids[i]. A snapshot (kinds[i] = SNAPSHOT) then removes the rows it folds:
 * folds[i] (what the store had seen of the document when the batch was made) and the rows of the
 * same document written earlier in this batch. Nothing else: see DocStore.compact.
 * Compaction inserts before it deletes, so the largest row id never shrinks and ids are never reused.
 */
export function batchWriter(db) {
  const insert = db.prepare('INSERT INTO doc_updates (doc, data) VALUES (?, ?)')
  const remove = db.prepare('DELETE FROM doc_updates WHERE id = ?')
  return db.transaction(({ docs, kinds, ends, bytes, folds, ids }) => {
    let start = 0
    for (let i = 0; i < docs.length; i++) {
      ids[i] = Number(insert.run(docs[i], bytes.subarray(start, ends[i])).lastInsertRowid)
      start = ends[i]
      if (kinds[i] !== SNAPSHOT) continue
      for (const id of folds[i]) remove.run(id)
      for (let j = 0; j < i; j++) if (docs[j] === docs[i]) remove.run(ids[j])
    }
  })
}
