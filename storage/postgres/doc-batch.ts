// The statements of one group commit of the PostgreSQL DocStore: appends as one multi-row INSERT,
// compactions as one statement inserting their snapshots and deleting exactly the rows they fold.
import type { SeenRows } from '../seen-rows.ts'
import type { QueuedWrite as Write } from '../group-commit.ts'

/** Runs one statement; `name` makes it a prepared statement of the connection, parsed and planned once. */
type Query = (sql: string, params: unknown[], name?: string) => Promise<{ rows: Array<{ id: string; doc?: string }> }>

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
  for (const { appends, snapshots } of segments(writes)) {
    if (appends.length > 0) {
      const ids = await insertUpdates(query, appends)
      for (let n = 0; n < appends.length; n++) if (compacted.has(appends[n].doc)) rowsOf(appends[n].doc).add(ids[n])
      effects.push((s) => { for (let n = 0; n < appends.length; n++) s.addOne(appends[n].doc, ids[n]) })
    }
    if (snapshots.length > 0) {
      const folds = snapshots.map((write) => [...rowsOf(write.doc)])
      const ids = await insertSnapshots(query, snapshots, folds)
      snapshots.forEach((write, n) => {
        known.set(write.doc, new Set([ids[n]]))
        effects.push((s) => s.folded(write.doc, folds[n], ids[n]))
      })
    }
  }
  return () => { for (const effect of effects) effect(seen) }
}

/**
 * The batch in runs that each take one multi-row INSERT of appends, then one statement for all
 * its snapshots: a document is in a run either by appends only or by one snapshot only, so the
 * run's order between documents is free and each document's own writes keep their order (a
 * snapshot folds the appends of its document made before it, which an earlier run stored). A
 * storm of compactions (a relay unloading 500 idle rooms at once) is then one round trip, not 500
 * in a row holding every echo of the relay behind them.
 */
function segments(writes: Write[]): Array<{ appends: Write[]; snapshots: Write[] }> {
  const runs: Array<{ appends: Write[]; snapshots: Write[] }> = []
  let run = { appends: [] as Write[], snapshots: [] as Write[] }
  let kinds = new Map<string, boolean>() // document -> whether it is in this run by a snapshot
  for (const write of writes) {
    const had = kinds.get(write.doc)
    if (had === true || (had === false && write.snapshot)) {
      runs.push(run)
      run = { appends: [], snapshots: [] }
      kinds = new Map()
    }
    kinds.set(write.doc, write.snapshot)
    ;(write.snapshot ? run.snapshots : run.appends).push(write)
  }
  runs.push(run)
  return runs
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

/**
 * Each snapshot inserted and the rows it folds deleted, in one statement inside the caller's
 * transaction (a crash leaves neither); the documents are distinct, so each id is found by its
 * document. A row is deleted only with the document it was stored under [DS4].
 */
async function insertSnapshots(query: Query, snapshots: Write[], folds: number[][]): Promise<number[]> {
  const { rows } = await query(
    `WITH snapshot AS (
       INSERT INTO doc_updates (doc, data)
       SELECT doc, data FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(doc, data, n) ORDER BY n
       RETURNING id, doc),
     folded AS (
       DELETE FROM doc_updates AS u USING unnest($3::text[], $4::bigint[]) AS f(doc, id)
       WHERE u.doc = f.doc AND u.id = f.id)
     SELECT id, doc FROM snapshot`,
    [snapshots.map((write) => write.doc), snapshots.map((write) => bytes(write.data)),
      folds.flatMap((ids, n) => ids.map(() => snapshots[n].doc)), folds.flat()],
    'labsync_doc_snapshots')
  const byDoc = new Map(rows.map((row) => [row.doc!, Number(row.id)]))
  return snapshots.map((write) => {
    const id = byDoc.get(write.doc)
    if (id === undefined) throw new Error(`the snapshot of ${write.doc} was not stored`)
    return id
  })
}

const bytes = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)
