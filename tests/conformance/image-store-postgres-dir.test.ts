// Runs the ImageStore acceptance suite against the PostgreSQL store with its photos' bytes in a
// directory (--images DIR), on a real PostgreSQL 15 started for this file: rows in a schema of
// their own per test, bytes in a temporary directory standing for the relays' shared mount, and a
// relay's --data of its own. Then what only a shared directory has: two relays on one DIR, a photo
// received on another filesystem than DIR, files staged there by others, a row whose file is
// missing and its file put back by the same bytes adopted again, a directory that cannot hold
// photos, and the probe /healthz runs on a directory that stopped taking them.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runImageStoreTests } from './image-store.ts'
import { PgImageStore } from '../../storage/postgres/image-store.ts'
import { ImagesDirError, STALE_STAGING_MS, imagesDirAnswers } from '../../storage/postgres/image-bytes-dir.ts'
import { ImageMissingError, type ImageMeta } from '../../storage/image-store.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0
const scratch = (what: string) => mkdtempSync(join(tmpdir(), `labsync-pgdir-${what}-`))

runImageStoreTests('PostgreSQL with a shared directory', async () => {
  const url = await server.createSchema(`images_dir_${++schemas}`)
  const [shared, dataDir] = [scratch('shared'), scratch('data')]
  const stores: PgImageStore[] = []
  return {
    async open(now) {
      const store = await PgImageStore.open(url, dataDir, { now, imagesDir: shared })
      stores.push(store)
      return store
    },
    async teardown() {
      for (const store of stores) await store.close()
      for (const dir of [shared, dataDir]) rmSync(dir, { recursive: true, force: true })
    },
  }
})

const META: ImageMeta = { bytes: 5, width: 640, height: 480, format: 'png' }

/** Two relays' stores on one schema and one shared directory, each with its own --data. */
async function twoRelays(now = Date.now): Promise<{ a: PgImageStore; b: PgImageStore; shared: string; dataDirs: string[]; close(): Promise<void> }> {
  const url = await server.createSchema(`images_dir_${++schemas}`)
  const shared = scratch('shared')
  const dataDirs = [scratch('data'), scratch('data')]
  const a = await PgImageStore.open(url, dataDirs[0], { imagesDir: shared, now })
  const b = await PgImageStore.open(url, dataDirs[1], { imagesDir: shared, now })
  return {
    a, b, shared, dataDirs,
    async close() {
      await a.close()
      await b.close()
      for (const dir of [shared, ...dataDirs]) rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function stored(store: PgImageStore, text: string): Promise<string> {
  const file = store.incomingPath()
  writeFileSync(file, text)
  const sha256 = createHash('sha256').update(text).digest('hex')
  await store.adopt(file, sha256)
  await store.record(sha256, META, 'u1')
  return sha256
}

/** Every file under `dir` but the incoming ones. */
const photosUnder = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && !entry.parentPath.includes('.incoming')).map((entry) => entry.name)

const test = suite('PostgreSQL with a shared directory: what only a shared directory has')
test.after(() => server.stop())

test('a photo one relay adopted is the other relay\'s file in the shared directory, copied to no --data and to no table', async () => {
  const relays = await twoRelays()
  try {
    const sha256 = await stored(relays.a, 'hello')
    assert.is(await relays.b.localPath(sha256), join(relays.shared, sha256.slice(0, 2), sha256))
    assert.is(relays.a.path(sha256), relays.b.path(sha256))
    for (const dataDir of relays.dataDirs) assert.equal(photosUnder(dataDir), [], `nothing under ${dataDir}`)
    assert.equal(photosUnder(relays.shared), [sha256])
  } finally {
    await relays.close()
  }
})

test('a recorded photo whose file is missing from the directory is ImageMissingError, and served again once the file is back', async () => {
  const relays = await twoRelays()
  try {
    const sha256 = await stored(relays.a, 'hello')
    const path = relays.a.path(sha256)
    rmSync(path)
    const outcome = await relays.b.localPath(sha256).then(() => null, (error: unknown) => error)
    assert.instance(outcome, ImageMissingError)
    assert.match((outcome as Error).message, relays.shared)
    assert.ok(await relays.b.has(sha256), 'the row is kept')
    writeFileSync(path, 'hello') // restored from the backup
    assert.is(await relays.b.localPath(sha256), path)
  } finally {
    await relays.close()
  }
})

test('the same bytes adopted again put back a file lost from the directory, and leave a file that is there as it is', async () => {
  const relays = await twoRelays()
  try {
    const sha256 = await stored(relays.a, 'hello')
    const path = relays.a.path(sha256)
    const placed = statSync(path).ino
    const again = relays.b.incomingPath()
    writeFileSync(again, 'hello')
    await relays.b.adopt(again, sha256)
    // Renaming over it would give relays reading it over NFS a stale handle.
    assert.is(statSync(path).ino, placed, 'the file in place is the same file')
    assert.not.ok(existsSync(again), 'the bytes sent again are dropped')
    rmSync(path)
    const lost = relays.b.incomingPath()
    writeFileSync(lost, 'hello')
    await relays.b.adopt(lost, sha256)
    assert.is(readFileSync(await relays.a.localPath(sha256), 'utf8'), 'hello')
  } finally {
    await relays.close()
  }
})

// The path every real deployment takes: uploads are received under the relay's --data, on
// another filesystem than the shared mount, so a photo is copied into DIR/.incoming and renamed.
const otherFilesystem = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev
test(`a photo received on another filesystem is staged in the directory and renamed: the whole file, nothing left staged${otherFilesystem ? '' : ' (skipped: no second filesystem)'}`, async () => {
  if (!otherFilesystem) return
  const shared = mkdtempSync('/dev/shm/labsync-pgdir-shared-')
  const dataDir = scratch('data')
  const store = await PgImageStore.open(await server.createSchema(`images_dir_${++schemas}`), dataDir, { imagesDir: shared })
  try {
    const bytes = Buffer.alloc(3 << 20, 7)
    const file = store.incomingPath()
    writeFileSync(file, bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    await store.adopt(file, sha256)
    assert.ok(readFileSync(join(shared, sha256.slice(0, 2), sha256)).equals(bytes))
    assert.not.ok(existsSync(file), 'the received file is gone')
    assert.equal(readdirSync(join(shared, '.incoming')), [], 'nothing left staged')
  } finally {
    await store.close()
    for (const dir of [shared, dataDir]) rmSync(dir, { recursive: true, force: true })
  }
})

test('a relay opening on the directory leaves what another relay is staging there, and sweeps what a dead one left a day ago', async () => {
  const at = Date.now()
  const relays = await twoRelays(() => at)
  try {
    const incoming = join(relays.shared, '.incoming')
    const [fresh, stale] = [join(incoming, 'being-copied'), join(incoming, 'left-by-a-dead-relay')]
    writeFileSync(fresh, 'half a photo')
    writeFileSync(stale, 'half a photo')
    const old = (at - STALE_STAGING_MS - 60_000) / 1000
    utimesSync(stale, old, old)
    const third = await PgImageStore.open((await server.createSchema(`images_dir_${++schemas}`)), relays.dataDirs[0], { imagesDir: relays.shared, now: () => at })
    await third.close()
    assert.ok(existsSync(fresh), 'a file another relay is staging stays')
    assert.not.ok(existsSync(stale), 'a day-old staged file is swept')
  } finally {
    await relays.close()
  }
})

test('a directory that is missing, not a directory, open to others, not writable or relative is refused before connecting', async () => {
  const base = scratch('bad')
  let readOnlyMount: string | null = null
  try {
    const file = join(base, 'a-file')
    writeFileSync(file, '')
    const open = join(base, 'open')
    mkdirSync(open, { mode: 0o755 })
    chmodSync(open, 0o755)
    const readOnly = join(base, 'read-only')
    mkdirSync(readOnly, { mode: 0o500 })
    const cases: Array<[string, RegExp]> = [
      [join(base, 'missing'), /does not exist/], [file, /is not a directory/], [open, /open to other users \(mode 0755\)/],
      ['relative/dir', /not an absolute path/],
    ]
    // root writes anywhere: mode 0500 only means something for another user; for root, a
    // filesystem mounted read-only (a tmpfs remounted ro, as a read-only NFS export refuses).
    if (process.getuid?.() !== 0) cases.push([readOnly, /is not writable by this user \(EACCES\)/])
    else {
      const mounted = join(base, 'read-only-mount')
      mkdirSync(mounted)
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mounted])
      readOnlyMount = mounted
      execFileSync('mount', ['-o', 'remount,ro', mounted])
      cases.push([mounted, /is not writable by this user \(EROFS\)/])
    }
    for (const [dir, problem] of cases) {
      const outcome = await PgImageStore.open('postgres://nobody@127.0.0.1:1/none', join(base, 'data'), { imagesDir: dir }).then(() => null, (error: unknown) => error)
      assert.instance(outcome, ImagesDirError, dir)
      assert.match((outcome as Error).message, problem, dir)
    }
  } finally {
    if (readOnlyMount) execFileSync('umount', [readOnlyMount])
    chmodSync(join(base, 'read-only'), 0o700)
    rmSync(base, { recursive: true, force: true })
  }
})

test('the /healthz probe: a directory taking photos answers null and keeps nothing; gone, a file, or unmounted answers why', async () => {
  const base = scratch('probe')
  try {
    const dir = join(base, 'images')
    mkdirSync(join(dir, '.incoming'), { recursive: true, mode: 0o700 })
    assert.is(await imagesDirAnswers(dir), null)
    assert.equal(readdirSync(join(dir, '.incoming')), [], 'the probe file is removed')
    renameSync(dir, join(base, 'away'))
    assert.is(await imagesDirAnswers(dir), 'cannot be written (ENOENT)')
    writeFileSync(dir, '')
    assert.is(await imagesDirAnswers(dir), 'cannot be written (ENOTDIR)')
    rmSync(dir)
    mkdirSync(dir, { mode: 0o700 }) // the empty mount point of a share that is not mounted
    assert.is(await imagesDirAnswers(dir), 'cannot be written (ENOENT)')
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
})

// A real read-only filesystem: a tmpfs remounted ro (root only, as deploy-health's full disk).
const root = process.getuid?.() === 0
test(`the /healthz probe: a directory on a filesystem remounted read-only answers EROFS, and null once it is writable again${root ? '' : ' (skipped: needs root)'}`, async () => {
  if (!root) return
  const mountPoint = scratch('ro')
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint])
  try {
    mkdirSync(join(mountPoint, '.incoming'))
    execFileSync('mount', ['-o', 'remount,ro', mountPoint])
    assert.is(await imagesDirAnswers(mountPoint), 'cannot be written (EROFS)')
    execFileSync('mount', ['-o', 'remount,rw', mountPoint])
    assert.is(await imagesDirAnswers(mountPoint), null)
  } finally {
    execFileSync('umount', [mountPoint])
    rmSync(mountPoint, { recursive: true, force: true })
  }
})

test.run()
