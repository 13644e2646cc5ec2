// The unfinished tus uploads of a cluster (photos/partial-postgres.ts) as two relays use them: two
// PartialPostgres on one real PostgreSQL, each with a data dir of its own. The chunk that completes
// an upload is never committed before its photo is (a relay dying there leaves the upload one chunk
// short, and another relay takes the rest); two relays writing one upload at one offset never
// interleave bytes; the quota holds when two relays create at once; any relay sweeps stale uploads.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import pg from 'pg'
import { ERRORS, Upload } from '@tus/server'
import { CHUNK_BYTES, PartialPostgres } from '../../photos/partial-postgres.ts'
import { STALE_UPLOAD_MS } from '../../photos/partial-uploads.ts'
import { HttpError } from '../../shared/errors.ts'
import { startPostgresRetrying } from '../helpers/cluster.ts'
import type { PostgresServer } from '../helpers/postgres.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

let server: PostgresServer | null = null
const pools: pg.Pool[] = []
const dirs: string[] = []
let schemas = 0
test.after(async () => {
  for (const pool of pools) await pool.end()
  await server?.stop()
  dirs.forEach(removeDir)
})

interface Relays { a: PartialPostgres; b: PartialPostgres }

/** Two relays' upload stores on a fresh schema; `now` and `cap` as the relays would give them. */
async function relays(options: { cap?: number; nowA?: () => number; nowB?: () => number } = {}): Promise<Relays> {
  server ??= await startPostgresRetrying({ fsync: 'off' })
  const url = await server.createSchema(`partial_uploads_${++schemas}`)
  const open = (now: () => number) => {
    const pool = new pg.Pool({ connectionString: url, max: 4 })
    pool.on('error', () => {}) // the server stopping at the end
    pools.push(pool)
    const dataDir = tempDir('labsync-partial-')
    dirs.push(dataDir)
    return new PartialPostgres(pool, { dataDir, cap: options.cap ?? 1 << 30, limit: 50 << 20, now })
  }
  return { a: open(options.nowA ?? Date.now), b: open(options.nowB ?? Date.now) }
}

let uploads = 0
function newUpload(size: number, owner = 'u1'): Upload {
  return new Upload({ id: `${process.pid}x${++uploads}`.padEnd(32, '0'), size, offset: 0, metadata: { sha256: 'a'.repeat(64), owner } })
}

test('the chunk that completes an upload is not committed: another relay sees it short, takes the rest, and assembles every byte', async () => {
  const { a, b } = await relays()
  const bytes = randomBytes(2 * CHUNK_BYTES + 1000)
  const upload = await a.datastore.create(newUpload(bytes.length))
  assert.is(await a.datastore.write(Readable.from([bytes]), upload.id, 0), bytes.length, 'relay A received every byte')
  // Relay A dies here, before its photo is stored: PostgreSQL holds the upload one chunk short.
  const left = (await b.datastore.getUpload(upload.id)).offset
  assert.ok(left > 0 && left < bytes.length, `committed ${left} of ${bytes.length}`)
  assert.is(await b.datastore.write(Readable.from([bytes.subarray(left)]), upload.id, left), bytes.length)
  const file = await b.assemble(upload)
  assert.ok(readFileSync(file).equals(bytes), 'the assembled file holds the bytes sent, in order')
  await b.discard(upload.id)
  try {
    await a.datastore.getUpload(upload.id)
    assert.unreachable('a discarded upload is gone for every relay')
  } catch (error) {
    assert.is(error, ERRORS.FILE_NOT_FOUND)
  }
})

test('two relays writing one upload at the same offset: one is refused 409, the bytes never interleave', async () => {
  const { a, b } = await relays()
  const size = 3 * CHUNK_BYTES
  const [fromA, fromB] = [randomBytes(size), randomBytes(size)]
  const upload = await a.datastore.create(newUpload(size))
  const results = await Promise.allSettled([
    a.datastore.write(Readable.from([fromA]), upload.id, 0),
    b.datastore.write(Readable.from([fromB]), upload.id, 0),
  ])
  const refused = results.filter((result) => result.status === 'rejected')
  assert.is(refused.length, 1, 'exactly one writer wins')
  assert.is((refused[0] as PromiseRejectedResult).reason, ERRORS.INVALID_OFFSET, String((refused[0] as PromiseRejectedResult).reason?.message ?? JSON.stringify((refused[0] as PromiseRejectedResult).reason)))
  const [winner, bytes] = results[0].status === 'fulfilled' ? [a, fromA] : [b, fromB]
  assert.ok(readFileSync(await winner.assemble(upload)).equals(bytes), 'the upload holds one writer\'s bytes only')
})

test('the quota holds when two relays create at once: of two uploads over it together, one is refused 429', async () => {
  const { a, b } = await relays({ cap: 10 << 20 })
  for (let round = 0; round < 10; round++) {
    const owner = `quota-${round}`
    const results = await Promise.allSettled([a.datastore.create(newUpload(6 << 20, owner)), b.datastore.create(newUpload(6 << 20, owner))])
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as HttpError)
    assert.is(refused.length, 1, `round ${round}: ${results.map((result) => result.status).join(', ')}`)
    assert.ok(refused[0] instanceof HttpError && refused[0].status === 429)
  }
})

test('an upload untouched for a day is swept by any relay, and no longer counts', async () => {
  const start = Date.now()
  const { a, b } = await relays({ cap: 10 << 20, nowA: () => start, nowB: () => start + STALE_UPLOAD_MS + 1 })
  const upload = await a.datastore.create(newUpload(6 << 20))
  await a.sweep()
  assert.is((await b.datastore.getUpload(upload.id)).offset, 0, 'not stale for relay A')
  await b.sweep()
  try {
    await a.datastore.getUpload(upload.id)
    assert.unreachable('swept')
  } catch (error) {
    assert.is(error, ERRORS.FILE_NOT_FOUND)
  }
  await a.datastore.create(newUpload(6 << 20)) // within the quota again
})

test.run()
