// The statements of one group commit of the PostgreSQL DocStore: consecutive appends as one
// multi-row INSERT, each compaction as its snapshot's INSERT and the DELETE of exactly the rows it folds.
import type { SeenRows } from '../seen-rows.ts'
import type { QueuedWrite as Write } from '../group-commit.ts'

/** Runs one statement; `name` makes it a prepared statement of the connection, parsed and planned once. */
type Query = (sql: string, params: unknown[], name?: string) => Promise<{ rows: Array<{ id: string }> }>

/**
 * Runs the batch's statements inside the caller's transaction and returns what to tell `seen`
 * once it committed. A compaction folds what `seen` held when the batch began plus this batch's
 * earlier rows of its document [DS12]; the rows it deletes are listed by id, so an update
 * another relay appended meanwhile stays [DS4, DS9].
 */
export async function planBatch(writes: Write[], seen: SeenRows, query: Query): Promise<() => void> {
  // Rows are followed through the batch only for the documents it compacts: copying an appended
  // document's rows made every append cost as much as its document's rows (up to a compaction's worth).
  const compacted = new Set<string>()
  for (const write of writes) if (write.snapshot) compacted.add(write.doc)
  const known = new Map<string, Set<number>>()
  const rowsOf = (doc: string) => {
    let rows = known.get(doc)
    if (!rows) known.set(doc, rows = new Set(seen.of(doc)))
    return rows
  }
  const effects: Array<(seen: SeenRows) => void> = []
  for (let i = 0; i < writes.length;) {
    if (writes[i].snapshot) {
      const doc = writes[i].doc
      const folds = [...rowsOf(doc)]
      const id = await insertSnapshot(query, doc, writes[i].data, folds)
      known.set(doc, new Set([id]))
      effects.push((s) => s.folded(doc, folds, id))
      i++
      continue
    }
    let end = i
    while (end < writes.length && !writes[end].snapshot) end++
    const appends = writes.slice(i, end)
    const ids = await insertUpdates(query, appends)
    for (let n = 0; n < appends.length; n++) if (compacted.has(appends[n].doc)) rowsOf(appends[n].doc).add(ids[n])
    effects.push((s) => { for (let n = 0; n < appends.length; n++) s.addOne(appends[n].doc, ids[n]) })
    i = end
  }
  return () => { for (const effect of effects) effect(seen) }
}

/**
 * Ids are drawn in the order the rows are inserted (ORDER BY n), and only grow within one
 * statement, so the ids sorted are the writes' ids in order.
 */
async function insertUpdates(query: Query, appends: Write[]): Promise<number[]> {
  const { rows } = await query(
    `INSERT INTO doc_updates (doc, data)
     SELECT doc, data FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(doc, data, n) ORDER BY n
     RETURNING id`,
    [appends.map((write) => write.doc), appends.map((write) => bytes(write.data))], 'labsync_doc_append')
  const ids = rows.map((row) => Number(row.id)).sort((a, b) => a - b)
  if (ids.length !== appends.length) throw new Error(`stored ${ids.length} of ${appends.length} updates`)
  return ids
}

/** The snapshot first, then the folded rows: inside one transaction, a crash leaves neither. */
async function insertSnapshot(query: Query, doc: string, data: Uint8Array, folds: number[]): Promise<number> {
  const { rows } = await query(
    `WITH snapshot AS (INSERT INTO doc_updates (doc, data) VALUES ($1, $2) RETURNING id),
          folded AS (DELETE FROM doc_updates WHERE doc = $1 AND id = ANY($3::bigint[]))
     SELECT id FROM snapshot`,
    [doc, bytes(data), folds])
  return Number(rows[0].id)
}

const bytes = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)
