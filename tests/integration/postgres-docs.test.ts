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
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

const DOC = 'orders/shared'
const ROUNDS = 40
const PER_ROUND = 25

/**
 * A relay's writes, in short: per round, PER_ROUND appends at once (one group commit), each
 * acknowledged on stdout once its promise resolved; then a compaction with everything it has
 * loaded and appended, and every third round a fresh load, so its compactions also fold
 * updates the other process appended and it read.
 */
async function writer(url: string, name: string): Promise<void> {
  const store = await PgDocStore.open(url)
  const doc = new Y.Doc()
  for (const update of await store.load(DOC)) Y.applyUpdate(doc, update)
  for (let round = 0; round < ROUNDS; round++) {
    const appends = Array.from({ length: PER_ROUND }, (_, i) => {
      const key = `${name}-${round}-${i}`
      const before = Y.encodeStateVector(doc)
      doc.getMap('m').set(key, round)
      return store.append(DOC, Y.encodeStateAsUpdate(doc, before)).then(() => process.stdout.write(`ack ${key}\n`))
    })
    await Promise.all(appends)
    if (round % 3 === 2) for (const update of await store.load(DOC)) Y.applyUpdate(doc, update)
    await store.compact(DOC, Y.encodeStateAsUpdate(doc))
  }
  await store.close()
}

if (process.argv[2] === 'writer') {
  await writer(process.argv[3], process.argv[4])
} else {
  let server: PostgresServer

  test.before(async () => { server = await startPostgres() })
  test.after(async () => { await server.stop() })

  /** Starts a writer process; resolves with the keys it acknowledged once it exited cleanly. */
  function runWriter(url: string, name: string): Promise<string[]> {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'writer', url, name], { stdio: ['ignore', 'pipe', 'inherit'] })
    const acked: string[] = []
    createInterface({ input: child.stdout! }).on('line', (line) => { if (line.startsWith('ack ')) acked.push(line.slice(4)) })
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => code === 0 ? resolve(acked) : reject(new Error(`writer ${name} exited with ${code}`)))
    })
  }

  test('two processes appending to and compacting one document lose no acknowledged update', async () => {
    const url = await server.createDatabase('two_writers')
    const [first, second] = await Promise.all([runWriter(url, 'a'), runWriter(url, 'b')])
    assert.is(first.length + second.length, 2 * ROUNDS * PER_ROUND)
    const store = await PgDocStore.open(url)
    try {
      const updates = await store.load(DOC)
      const doc = new Y.Doc()
      for (const update of updates) Y.applyUpdate(doc, update)
      const stored = doc.getMap('m')
      const missing = [...first, ...second].filter((key) => !stored.has(key))
      assert.equal(missing, [], `${missing.length} acknowledged updates are gone`)
      // The compactions did run: far fewer rows than appends are left.
      assert.ok(updates.length < ROUNDS * PER_ROUND / 4, `${updates.length} rows left`)
    } finally {
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
