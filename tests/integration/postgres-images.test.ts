// The PostgreSQL ImageStore as two relays use it: each with its own directory for files, one
// database between them. A photo received by one is served from the other's directory once it
// materialized it (over HTTP too, to its owner only); a photo over the bound is refused before
// anything is stored; a statement waiting on a lock leaves the event loop free.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import sharp from 'sharp'
import { createImages, type Images } from '../../photos/intake.ts'
import type { Principal } from '../../shared/rights.ts'
import { ImageMissingError } from '../../storage/image-store.ts'
import { ImageTooLargeError, PgImageStore } from '../../storage/postgres/image-store.ts'
import { sendError } from '../../sync-server/respond.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

const META = { bytes: 4096, width: 64, height: 64, format: 'png' as const }
let server: PostgresServer
const dirs: string[] = []
const scratch = () => { const dir = mkdtempSync(join(tmpdir(), 'labsync-pgimages-')); dirs.push(dir); return dir }

test.before(async () => { server = await startPostgres() })
test.after(async () => {
  await server.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function receive(store: PgImageStore, bytes: Buffer): { file: string; sha256: string } {
  const file = store.incomingPath()
  writeFileSync(file, bytes)
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') }
}

test('a photo one relay received is served from another relay\'s directory once materialized', async () => {
  const url = await server.createDatabase('two_relays')
  const [a, b] = await Promise.all([PgImageStore.open(url, scratch()), PgImageStore.open(url, scratch())])
  try {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256))
    const { file, sha256 } = receive(a, bytes)
    await a.adopt(file, sha256)
    assert.ok(await a.record(sha256, META, 'u1'))
    assert.ok(await b.has(sha256))
    assert.ok(await b.isOwner(sha256, 'u1'))
    assert.not.ok(existsSync(b.path(sha256)))
    assert.ok(await b.materialize(sha256))
    assert.equal(readFileSync(b.path(sha256)), bytes)
    assert.not.ok(await b.materialize('f'.repeat(64)))
    const missing = await b.localPath('f'.repeat(64)).catch((error: unknown) => error)
    assert.instance(missing, ImageMissingError)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a photo over the bound is refused and nothing of it is stored', async () => {
  const url = await server.createDatabase('bounded')
  const store = await PgImageStore.open(url, scratch(), { maxBytes: 1000 })
  const other = await PgImageStore.open(url, scratch())
  try {
    const { file, sha256 } = receive(store, Buffer.alloc(1001, 1))
    try {
      await store.adopt(file, sha256)
      assert.unreachable('adopted a photo over the bound')
    } catch (error) {
      assert.instance(error, ImageTooLargeError)
    }
    assert.not.ok(existsSync(file))
    assert.not.ok(existsSync(store.path(sha256)))
    assert.not.ok(await other.materialize(sha256))
  } finally {
    await Promise.all([store.close(), other.close()])
  }
})

test('localPath fetches the copy of a photo another relay received, once for readers at once', async () => {
  const url = await server.createDatabase('local_path')
  const [a, b] = await Promise.all([PgImageStore.open(url, scratch()), PgImageStore.open(url, scratch())])
  try {
    const bytes = Buffer.from('a photo only relay A received')
    const { file, sha256 } = receive(a, bytes)
    await a.adopt(file, sha256)
    await a.record(sha256, META, 'u1')
    const paths = await Promise.all([b.localPath(sha256), b.localPath(sha256), b.localPath(sha256)])
    for (const path of paths) assert.is(path, b.path(sha256))
    assert.equal(readFileSync(b.path(sha256)), bytes)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a photo PUT through relay A is served by relay B to its owner, and B fetches nothing for anyone else', async () => {
  const url = await server.createDatabase('over_http')
  const [a, b] = await Promise.all([relayImages(url), relayImages(url)])
  try {
    const bytes = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#2a6' } }).png().toBuffer()
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const put = await fetch(`${a.url}/api/images/${sha256}`, { method: 'PUT', headers: { authorization: 'Bearer u1' }, body: bytes })
    assert.is(put.status, 201)
    const refused = await fetch(`${b.url}/api/images/${sha256}`, { headers: { authorization: 'Bearer u2' } })
    assert.is(refused.status, 404)
    assert.not.ok(existsSync(b.store.path(sha256)), 'B fetched the bytes for a customer who may not read them')
    const served = await fetch(`${b.url}/api/images/${sha256}`, { headers: { authorization: 'Bearer u1' } })
    assert.is(served.status, 200)
    assert.is(served.headers.get('content-type'), 'image/png')
    assert.equal(Buffer.from(await served.arrayBuffer()), bytes)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a statement waiting on a row lock leaves the event loop running', async () => {
  const url = await server.createDatabase('held_lock')
  const store = await PgImageStore.open(url, scratch())
  const holder = new pg.Client({ connectionString: url })
  const observer = new pg.Client({ connectionString: url })
  await Promise.all([holder.connect(), observer.connect()])
  const ticks: number[] = []
  const started = performance.now()
  const timer = setInterval(() => ticks.push(performance.now()), 5)
  try {
    const sha256 = 'e'.repeat(64)
    // Another relay's transaction inserted the row and has not committed: record()'s INSERT ...
    // ON CONFLICT waits for it to end.
    await holder.query('BEGIN')
    await holder.query(`INSERT INTO images (sha256, bytes, width, height, format, created_at) VALUES ($1, 1, 1, 1, 'png', 'then')`, [sha256])
    let settled = false
    // Called from a microtask so that a store which blocks the thread fails the gap assertion
    // below instead of this line.
    const recording = Promise.resolve().then(() => store.record(sha256, META, 'u1')).finally(() => { settled = true })
    recording.catch(() => {})
    await until(async () => (await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n > 0)
    const seen = ticks.length
    await until(async () => ticks.length >= seen + 20)
    const gaps = ticks.map((at, i) => at - (i === 0 ? started : ticks[i - 1]))
    assert.ok(Math.max(...gaps) < 1000, `the event loop stood still for ${Math.round(Math.max(...gaps))} ms`)
    assert.not.ok(settled, 'record() answered while the row was still locked')
    await holder.query('ROLLBACK')
    assert.ok(await recording, 'the image is new once the other transaction rolled back')
  } finally {
    clearInterval(timer)
    await Promise.all([holder.end(), observer.end()])
    await store.close()
  }
})

/** Polls `check` every 5 ms (a condition in another process has no event to wait on); fails after 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 5000
  while (!await check()) {
    if (performance.now() > deadline) assert.unreachable('condition not met within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** One relay's photo intake on PostgreSQL behind a bare HTTP server; the bearer token is the user id. */
async function relayImages(url: string): Promise<{ url: string; store: PgImageStore; close(): Promise<void> }> {
  const dataDir = scratch()
  const store = await PgImageStore.open(url, dataDir)
  const images: Images = createImages({
    store, dataDir, limits: { imageBytes: 1_000_000 }, now: Date.now,
    auth: {
      fromRequest(req) {
        const userId = req.headers.authorization?.replace(/^Bearer /, '')
        const principal: Principal | null = userId ? { kind: 'user', userId } : null
        return principal && { principal, expiresAt: Infinity }
      },
    },
  })
  const http: Server = createServer((req, res) => void images.handle(req, res, new URL(req.url!, 'http://relay')).catch((error) => sendError(res, error)))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    store,
    async close() {
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
      await images.close()
      await store.close()
    },
  }
}

test.run()
