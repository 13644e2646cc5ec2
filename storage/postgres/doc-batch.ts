// The statement of one group commit of the PostgreSQL DocStore: one round trip whatever the batch
// holds. Appends only are one multi-row INSERT; a batch with compactions is one statement that
// takes their documents' advisory locks, deletes exactly the rows they fold and inserts the rest.
import type { SeenRows } from '../seen-rows.ts'
import type { QueuedWrite as Write } from '../group-commit.ts'

/** Runs one statement; `name` makes it a prepared statement of the connection, parsed and planned once. */
type Query = (sql: string, params: unknown[], name?: string) => Promise<{ rows: Array<{ id: string }> }>

/**
 * Stores the batch (one statement, so one transaction: a crash leaves all of it or none) and
 * returns what to tell `seen` once it committed.
 *
 * A document compacted in the batch is stored as its last snapshot and the appends made after it.
 * Its writes before that snapshot are not stored as rows at all: the snapshot holds them (it is the
 * document as it was when compact() was called, every earlier append applied [DS12]), and they
 * resolve with it. So a compaction costs one row inserted and the rows it folds deleted, in the
 * same round trip as the batch's appends: before, it was a transaction of five round trips that
 * held every echo of its relay behind it (p99 at 14,000 writes/s: 0.6-0.9 s against 0.11-0.12 s
 * without compaction). The rows folded are those `seen` held when the batch began, listed by id,
 * so an update another relay appended meanwhile stays [DS4, DS9].
 */
export async function planBatch(writes: Write[], seen: SeenRows, query: Query, lockClass: number): Promise<() => void> {
  const lastSnapshot = new Map<string, number>()
  for (let n = 0; n < writes.length; n++) if (writes[n].snapshot) lastSnapshot.set(writes[n].doc, n)
  if (lastSnapshot.size === 0) {
    const ids = await insertUpdates(query, writes)
    return () => { for (let n = 0; n < writes.length; n++) seen.addOne(writes[n].doc, ids[n]) }
  }
  const rows = writes.filter((write, n) => n >= (lastSnapshot.get(write.doc) ?? 0))
  const folds = new Map([...lastSnapshot.keys()].map((doc) => [doc, seen.of(doc)]))
  const ids = await storeCompacting(query, lockClass, rows, folds)
  return () => {
    for (let n = 0; n < rows.length; n++) {
      const { doc, snapshot } = rows[n]
      if (snapshot) seen.folded(doc, folds.get(doc)!, ids[n])
      else seen.addOne(doc, ids[n])
    }
  }
}

/**
 * Ids are drawn in the order the rows are inserted (ORDER BY n), and only grow within one
 * statement, so the ids sorted are the rows' ids in order.
 */
async function insertUpdates(query: Query, appends: Write[]): Promise<number[]> {
  const { rows } = await query(
    `INSERT INTO doc_updates (doc, data)
     SELECT doc, data FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(doc, data, n) ORDER BY n
     RETURNING id`,
    [appends.map((write) => write.doc), appends.map((write) => bytes(write.data))], 'labsync_doc_append')
  return idsInOrder(rows, appends.length)
}

/**
 * The compacted documents' advisory locks taken in one order (two relays compacting the same
 * documents wait for each other instead of deadlocking; both the delete and the insert read the
 * locks, so neither runs before they are held), each one's folded rows deleted, and `rows` (the
 * snapshots and the appends left) inserted in order. A row is deleted only with the document it was
 * stored under [DS4].
 */
async function storeCompacting(query: Query, lockClass: number, rows: Write[], folds: Map<string, number[]>): Promise<number[]> {
  const docs = [...folds.keys()]
  const { rows: inserted } = await query(
    `WITH locked AS (
       SELECT count(pg_advisory_xact_lock($1, k)) AS n
       FROM (SELECT DISTINCT hashtext(d) AS k FROM unnest($2::text[]) AS d ORDER BY k) AS locks),
     folded AS (
       DELETE FROM doc_updates AS u USING locked, unnest($3::text[], $4::bigint[]) AS f(doc, id)
       WHERE locked.n >= 0 AND u.doc = f.doc AND u.id = f.id)
     INSERT INTO doc_updates (doc, data)
     SELECT t.doc, t.data FROM locked, unnest($5::text[], $6::bytea[]) WITH ORDINALITY AS t(doc, data, n)
     WHERE locked.n >= 0 ORDER BY t.n
     RETURNING id`,
    [lockClass, docs, docs.flatMap((doc) => folds.get(doc)!.map(() => doc)), docs.flatMap((doc) => folds.get(doc)!),
      rows.map((write) => write.doc), rows.map((write) => bytes(write.data))],
    'labsync_doc_compacting')
  return idsInOrder(inserted, rows.length)
}

function idsInOrder(rows: Array<{ id: string }>, expected: number): number[] {
  const ids = rows.map((row) => Number(row.id)).sort((a, b) => a - b)
  if (ids.length !== expected) throw new Error(`stored ${ids.length} of ${expected} rows`)
  return ids
}

const bytes = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)
