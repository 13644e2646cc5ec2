// A relay's copies of photos whose bytes PostgreSQL keeps (--images postgres) stay within their
// cap: least recently used copies removed, every photo still served with its bytes (fetched again
// from a real PostgreSQL 15), a copy handed to a reader kept until it had time to open it, the cap
// kept across a restart by scanning what the earlier run left; --images DIR never loses a file.
// (One test drives ImageCache alone, on real files: a reader's check held open at will.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PgImageStore, type PgImageStoreOptions } from '../../storage/postgres/image-store.ts'
import { ImageCache } from '../../storage/postgres/image-cache.ts'
import { cachedBytes, copyOf } from '../helpers/photo-copies.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

const SIZE = 10_000
const META = { bytes: SIZE, width: 64, height: 64, format: 'png' as const }
const HOLD_MS = 1000
let server: PostgresServer
const dirs: string[] = []
const scratch = () => { const dir = mkdtempSync(join(tmpdir(), 'labsync-imgcache-')); dirs.push(dir); return dir }

test.before(async () => { server = await startPostgres({ fsync: 'off' }) })
test.after(async () => {
  await server.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Photo `n`'s bytes: SIZE bytes, different for every n. */
const photo = (n: number) => Buffer.alloc(SIZE, `photo ${n} `)
const shaOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** A clock the test moves: a copy handed to a reader is held until it passes HOLD_MS. */
function clock(): { now: () => number; pass(ms: number): void } {
  let at = 1_000_000
  return { now: () => at, pass(ms) { at += ms } }
}

async function open(url: string, dataDir: string, options: PgImageStoreOptions): Promise<PgImageStore> {
  return PgImageStore.open(url, dataDir, { cacheHoldMs: HOLD_MS, ...options })
}

async function store(s: PgImageStore, bytes: Buffer): Promise<string> {
  const file = s.incomingPath()
  writeFileSync(file, bytes)
  const sha256 = shaOf(bytes)
  await s.adopt(file, sha256)
  await s.record(sha256, META, 'u1')
  return sha256
}

test('past the cap the least recently used copies go, and every photo is served again with its bytes', async () => {
  const url = await server.createSchema('lru')
  const dataDir = scratch()
  const time = clock()
  const cap = 3 * SIZE
  const s = await open(url, dataDir, { cacheBytes: cap, now: time.now })
  try {
    const shas: string[] = []
    for (let n = 0; n < 3; n++) shas.push(await store(s, photo(n)))
    await s.localPath(shas[0]) // photo 0 served: now photo 1 is the least recently used
    time.pass(HOLD_MS + 1)
    shas.push(await store(s, photo(3)))
    assert.ok(cachedBytes(dataDir) <= cap, `${cachedBytes(dataDir)} bytes cached, cap ${cap}`)
    assert.not.ok(existsSync(s.path(shas[1])), 'the least recently used copy (photo 1) is still there')
    assert.ok(existsSync(s.path(shas[0])), 'the copy served last was removed')
    for (let n = 4; n < 8; n++) shas.push(await store(s, photo(n)))
    for (const [n, sha256] of shas.entries()) {
      time.pass(HOLD_MS + 1)
      assert.equal(readFileSync(await s.localPath(sha256)), photo(n), `photo ${n}`)
      assert.ok(cachedBytes(dataDir) <= cap, `${cachedBytes(dataDir)} bytes cached after photo ${n}, cap ${cap}`)
    }
    assert.is(s.copies!.bytes, cachedBytes(dataDir), 'what the cache counts is what is on disk')
  } finally {
    await s.close()
  }
})

test('a copy handed to a reader stays until its hold ends, and one removed anyway is fetched again', async () => {
  const url = await server.createSchema('held')
  const time = clock()
  const writer = await open(url, scratch(), {})
  const dataDir = scratch()
  const reader = await open(url, dataDir, { cacheBytes: SIZE, now: time.now })
  try {
    const [a, b, c] = [await store(writer, photo(0)), await store(writer, photo(1)), await store(writer, photo(2))]
    const pathA = await reader.localPath(a)
    await reader.localPath(b) // over the cap, but photo 0's reader has not opened it yet
    assert.equal(readFileSync(pathA), photo(0), 'the copy handed to a reader was removed before it could open it')
    time.pass(HOLD_MS + 1)
    await reader.localPath(c)
    assert.not.ok(existsSync(pathA), 'the copy was kept past its hold')
    assert.ok(cachedBytes(dataDir) <= 2 * SIZE)
    // Removed between one reader's localPath and the next (by the cache or anyone): fetched again.
    time.pass(HOLD_MS + 1)
    rmSync(reader.path(c))
    assert.equal(readFileSync(await reader.localPath(c)), photo(2))
  } finally {
    await Promise.all([writer.close(), reader.close()])
  }
})

test('a copy being checked for a reader is not removed by another photo pushing past the cap meanwhile', async () => {
  const root = join(scratch(), 'images')
  const pathOf = (sha256: string) => join(root, sha256.slice(0, 2), sha256)
  const place = (bytes: Buffer) => { const sha256 = shaOf(bytes); mkdirSync(join(root, sha256.slice(0, 2)), { recursive: true }); writeFileSync(pathOf(sha256), bytes); return sha256 }
  const time = clock()
  const cache = new ImageCache(root, pathOf, { capBytes: SIZE, holdMs: HOLD_MS, now: time.now, log: () => {} })
  try {
    await cache.scanned()
    const a = place(photo(0))
    await cache.keep(a, false, async () => SIZE)
    let answer!: (size: number) => void
    // A reader's check of photo 0's copy, still under way (its stat has not answered yet).
    const reading = cache.keep(a, true, () => new Promise<number>((resolve) => { answer = resolve }))
    const b = place(photo(1))
    await cache.keep(b, false, async () => SIZE)
    assert.ok(existsSync(pathOf(a)), 'the copy a reader was being answered about was removed')
    assert.not.ok(existsSync(pathOf(b)), 'the copy nobody reads stayed past the cap')
    answer(SIZE)
    assert.ok(await reading)
    assert.is(cache.bytes, SIZE)
  } finally {
    await cache.close()
  }
})

test('a restart scans the copies an earlier run left and keeps the cap', async () => {
  const url = await server.createSchema('restart')
  const dataDir = scratch()
  const first = await open(url, dataDir, {})
  const shas: string[] = []
  try {
    for (let n = 0; n < 6; n++) shas.push(await store(first, photo(n)))
  } finally {
    await first.close()
  }
  assert.is(cachedBytes(dataDir), 6 * SIZE)
  const cap = 4 * SIZE
  const time = clock()
  const again = await open(url, dataDir, { cacheBytes: cap, now: time.now })
  try {
    await again.copies!.scanned()
    assert.ok(cachedBytes(dataDir) <= cap, `${cachedBytes(dataDir)} bytes cached after the scan, cap ${cap}`)
    assert.is(again.copies!.bytes, cachedBytes(dataDir))
    shas.push(await store(again, photo(6)))
    assert.ok(cachedBytes(dataDir) <= cap, `${cachedBytes(dataDir)} bytes cached, cap ${cap}`)
    assert.ok(existsSync(again.path(shas[6])), 'the photo received now was removed')
    for (const [n, sha256] of shas.entries()) {
      time.pass(HOLD_MS + 1)
      assert.equal(readFileSync(await again.localPath(sha256)), photo(n), `photo ${n}`)
      assert.ok(cachedBytes(dataDir) <= cap, `${cachedBytes(dataDir)} bytes cached after photo ${n}, cap ${cap}`)
    }
  } finally {
    await again.close()
  }
})

test('with --images DIR nothing is ever removed, whatever the cap: the directory is the store', async () => {
  const url = await server.createSchema('dir')
  const imagesDir = scratch()
  chmodSync(imagesDir, 0o700)
  const s = await open(url, scratch(), { imagesDir, cacheBytes: 1 })
  try {
    const shas: string[] = []
    for (let n = 0; n < 4; n++) shas.push(await store(s, photo(n)))
    for (const [n, sha256] of shas.entries()) assert.equal(readFileSync(join(imagesDir, sha256.slice(0, 2), sha256)), photo(n), `photo ${n}`)
    assert.is(s.copies, null)
  } finally {
    await s.close()
  }
})

test.run()
