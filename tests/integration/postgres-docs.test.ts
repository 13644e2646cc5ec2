// The PostgreSQL DocStore across real processes on a real PostgreSQL 15: two writer processes
// append to one document and compact it concurrently, and every append either acknowledged is
// in the database afterwards; several relays opening a new database at once migrate it once.
// The same file is the writer process when started with the argument `writer`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import * as Y from 'yjs'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { LOCK_CLASS } from '../../storage/postgres/migrate.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

const DOC = 'orders/shared'
const ROUNDS = 40
const PER_ROUND = 25

/**
 * A relay's writes, in short: per round, PER_ROUND appends at once (one group commit), each
 * acknowledged on stdout once its promise resolved; then (when compacting) a compaction with everything it has
 * loaded and appended, and every third round a fresh load, so its compactions also fold
 * updates the other process appended and it read.
 */
async function writer(url: string, name: string, rounds: number, compacting: boolean): Promise<void> {
  const store = await PgDocStore.open(url)
  const doc = new Y.Doc()
  for (const update of await store.load(DOC)) Y.applyUpdate(doc, update)
  for (let round = 0; round < rounds; round++) {
    const appends = Array.from({ length: PER_ROUND }, (_, i) => {
      const key = `${name}-${round}-${i}`
      const before = Y.encodeStateVector(doc)
      doc.getMap('m').set(key, round)
      return store.append(DOC, Y.encodeStateAsUpdate(doc, before)).then(() => process.stdout.write(`ack ${key}\n`))
    })
    await Promise.all(appends)
    if (round % 3 === 2) for (const update of await store.load(DOC)) Y.applyUpdate(doc, update)
    if (compacting) await store.compact(DOC, Y.encodeStateAsUpdate(doc))
  }
  await store.close()
}

if (process.argv[2] === 'writer') {
  await writer(process.argv[3], process.argv[4], Number(process.argv[5]), process.argv[6] === 'compacting')
} else {
  let server: PostgresServer

  test.before(async () => { server = await startPostgres({ client_connection_check_interval: '50ms' }) })
  test.after(async () => { await server.stop() })

  interface Writer {
    /** The keys acknowledged so far, in order. */
    readonly acked: string[]
    /** Resolves once the process ended and all it wrote was read; rejects unless it exited 0 or was SIGKILLed. */
    readonly done: Promise<string[]>
    kill(): void
  }

  /** Starts a writer process; its acknowledgements are collected as they come. */
  function startWriter(url: string, name: string, rounds = ROUNDS, compacting = true): Writer {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), 'writer', url, name, String(rounds), compacting ? 'compacting' : 'appending']
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const acked: string[] = []
    createInterface({ input: child.stdout! }).on('line', (line) => { if (line.startsWith('ack ')) acked.push(line.slice(4)) })
    const done = new Promise<string[]>((resolve, reject) => {
      // 'close', not 'exit': every acknowledgement written to the pipe has been read by then.
      child.once('close', (code, signal) => {
        if (code === 0 || signal === 'SIGKILL') resolve(acked)
        else reject(new Error(`writer ${name} exited with ${code ?? signal}`))
      })
    })
    return { acked, done, kill: () => child.kill('SIGKILL') }
  }

  /** Polls `check` every 20 ms until it holds; fails after 30 s. */
  async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
    for (const deadline = Date.now() + 30_000; !(await check());) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** The keys of `acked` that the stored document does not have. */
  async function missingFrom(url: string, acked: string[]): Promise<{ missing: string[]; rows: number }> {
    const store = await PgDocStore.open(url)
    try {
      const updates = await store.load(DOC)
      const doc = new Y.Doc()
      for (const update of updates) Y.applyUpdate(doc, update)
      const stored = doc.getMap('m')
      return { missing: acked.filter((key) => !stored.has(key)), rows: updates.length }
    } finally {
      await store.close()
    }
  }

  test('two processes appending to and compacting one document lose no acknowledged update', async () => {
    const url = await server.createDatabase('two_writers')
    const [first, second] = await Promise.all([startWriter(url, 'a').done, startWriter(url, 'b').done])
    assert.is(first.length + second.length, 2 * ROUNDS * PER_ROUND)
    const { missing, rows } = await missingFrom(url, [...first, ...second])
    assert.equal(missing, [], `${missing.length} acknowledged updates are gone`)
    // The compactions did run: far fewer rows than appends are left.
    assert.ok(rows < ROUNDS * PER_ROUND / 4, `${rows} rows left`)
  })

  test('a writer SIGKILLed while its commit waits lost none of the updates it acknowledged', async () => {
    const url = await server.createDatabase('killed_writer')
    // Appends only, so the commit held below is always one that acknowledges updates.
    const writer = startWriter(url, 'k', 100_000, false)
    await until('the writer acknowledged 100 updates', () => writer.acked.length >= 100)
    // Hold its next commit: a lock its INSERT waits for. An acknowledgement made before COMMIT
    // (the bug this test exists for) is on the pipe by now, and its update is never stored.
    const blocker = new pg.Client({ connectionString: url })
    await blocker.connect()
    const waiting = async () => (await blocker.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
       WHERE c.relname = 'doc_updates' AND NOT l.granted`)).rows[0].n
    try {
      await blocker.query('BEGIN')
      await blocker.query('LOCK TABLE doc_updates IN SHARE MODE')
      await until('the writer\'s commit waits for the lock', async () => (await waiting()) > 0)
      writer.kill()
      const acked = await writer.done
      // The server notices the client is gone (client_connection_check_interval) and cancels
      // the waiting INSERT: released now, it would have been stored after all.
      await until('the killed writer\'s statement is cancelled', async () => (await waiting()) === 0)
      await blocker.query('ROLLBACK')
      const { missing } = await missingFrom(url, acked)
      assert.equal(missing, [], `${missing.length} acknowledged updates are gone`)
    } finally {
      await blocker.end()
    }
  })

  test('a compaction deletes the rows it folds only under its document\'s advisory lock, and resolves once they are gone', async () => {
    const url = await server.createDatabase('compaction_lock')
    const store = await PgDocStore.open(url)
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      const doc = new Y.Doc()
      const updates: Uint8Array[] = []
      doc.on('update', (update: Uint8Array) => updates.push(update))
      for (let i = 0; i < 5; i++) doc.getMap('m').set(`k${i}`, i)
      for (const update of updates) await store.append(DOC, update)
      const ids = async () => (await holder.query<{ id: string }>('SELECT id FROM doc_updates WHERE doc = $1 ORDER BY id', [DOC])).rows.map((r) => Number(r.id))
      const appended = await ids()
      // Another relay compacting the same document holds its lock (session-level here, so it
      // outlives a statement): this store's compaction must not delete anything meanwhile.
      await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS.doc, DOC])
      let settled = false
      const snapshot = Y.encodeStateAsUpdate(doc)
      const compacted = store.compact(DOC, snapshot).then(() => { settled = true })
      await until('the compaction waits for the lock', async () => (await holder.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0].n > 0)
      // The snapshot is stored (an append after it would be echoed now), the rows it folds all kept.
      const meanwhile = await ids()
      assert.equal(meanwhile.slice(0, appended.length), appended, 'rows were deleted before the lock was held')
      assert.is(meanwhile.length, appended.length + 1, 'the snapshot is committed while the delete waits')
      await store.append(DOC, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc))) // not held behind the delete
      assert.is(settled, false, 'the compaction settled while another held its document\'s lock')
      await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS.doc, DOC])
      await compacted
      const left = await store.load(DOC)
      assert.equal(left[0], snapshot, 'the folded rows are gone once the compaction resolved')
      assert.is(left.length, 2, 'the snapshot and the append made after it')
    } finally {
      await holder.end()
      await store.close()
    }
  })

  test('compactions waiting for locks another relay holds leave the pool to appends and loads', async () => {
    const url = await server.createDatabase('compactions_waiting')
    const store = await PgDocStore.open(url) // 6 connections
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      const docs = Array.from({ length: 10 }, (_, i) => `orders/held-${i}`)
      const update = (key: string) => { const d = new Y.Doc(); d.getMap('m').set(key, 1); return Y.encodeStateAsUpdate(d) }
      for (const doc of docs) await store.append(doc, update(doc))
      for (const doc of docs) await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS.doc, doc])
      // Each compaction in a batch of its own (its snapshot committed before the next is made), each
      // one's delete to wait for its lock: more deletes than the pool has connections.
      const rowsOf = async (doc: string) => (await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM doc_updates WHERE doc = $1', [doc])).rows[0].n
      const compactions: Array<Promise<void>> = []
      for (const doc of docs) {
        compactions.push(store.compact(doc, update(doc)))
        await until(`the snapshot of ${doc} is committed`, async () => (await rowsOf(doc)) === 2)
      }
      await until('a delete waits for its lock', async () => (await holder.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0].n > 0)
      // Were the deletes all in flight at once, they would hold every connection: these would wait.
      const started = Date.now()
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('orders/free', update(`k${i}`))))
      assert.is((await store.load('orders/free')).length, 20)
      assert.ok(Date.now() - started < 5_000, `appends and a load took ${Date.now() - started} ms beside the waiting compactions`)
      await holder.query('SELECT pg_advisory_unlock_all()')
      await Promise.all(compactions)
      for (const doc of docs) assert.is((await store.load(doc)).length, 1, `${doc} compacted once its lock was free`)
    } finally {
      await holder.end()
      await store.close()
    }
  })

  test('relays opening a new database at once migrate it once', async () => {
    const url = await server.createDatabase('opened_at_once')
    const stores = await Promise.all(Array.from({ length: 6 }, () => PgDocStore.open(url)))
    await Promise.all(stores.map((store) => store.close()))
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query<{ component: string; version: number }>('SELECT component, version FROM labsync_schema')
      assert.equal(rows, [{ component: 'docs', version: 1 }])
    } finally {
      await client.end()
    }
  })

  test.run()
}
