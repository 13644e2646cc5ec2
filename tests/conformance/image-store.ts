// The acceptance suite every ImageStore implementation runs against itself: each test is named
// for the promise of storage/image-store.ts it checks, by its rule id, and observes the outcome
// through the interface and the files it names.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ImageMissingError, type ImageMeta, type ImageStore } from '../../storage/image-store.ts'

/** One storage (a database and a directory, a memory backing and a directory) stores open on. */
export interface ImageStorageUnderTest {
  /** A new store on this storage, as the process that starts next would open it (a PostgreSQL one connects first). */
  open(now: () => number): ImageStore | Promise<ImageStore>
  /** Removes the storage; called once, at the end of the test. */
  teardown(): Promise<void>
}

const META: ImageMeta = { bytes: 5, width: 640, height: 480, format: 'png' }
const AT = Date.parse('2026-01-02T03:04:05.000Z')
const later = () => AT + 60_000

/** Bytes and their hash, received into the store's incoming directory. */
function received(store: ImageStore, text: string): { file: string; sha256: string; bytes: Buffer } {
  const bytes = Buffer.from(text)
  const file = store.incomingPath()
  writeFileSync(file, bytes)
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes }
}

async function stored(store: ImageStore, text: string, owner: string): Promise<string> {
  const { file, sha256 } = received(store, text)
  await store.adopt(file, sha256)
  await store.record(sha256, META, owner)
  return sha256
}

/** Fails unless `promise` rejects with an instance of `type`. */
async function assertRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, message?: string): Promise<void> {
  const outcome = await promise.then(() => null, (error: unknown) => error)
  assert.instance(outcome, type, message)
}

type It = (title: string, body: Body) => void
type Body = (open: (now?: () => number) => Promise<ImageStore>) => Promise<void>

/**
 * Registers and runs the suite `ImageStore: <name>`; every test gets fresh storage from setup().
 * `after` runs once the suite is done (a database server the storages live on is stopped there).
 */
export function runImageStoreTests(name: string, setup: () => Promise<ImageStorageUnderTest>, after?: () => Promise<void>): void {
  const test = suite(`ImageStore: ${name}`)
  if (after) test.after(after)
  const it = (title: string, body: Body) => test(title, async () => {
    const storage = await setup()
    try {
      await body(async (now = () => AT) => storage.open(now))
    } finally {
      await storage.teardown()
    }
  })

  recordRules(it)
  fileRules(it)
  test.run()
}

/** Records and owners [IS1]-[IS4]. */
function recordRules(it: It): void {
  it('[IS1] a recorded image is there, described as recorded and dated by the store\'s clock', async (open) => {
    const store = await open()
    const sha256 = await stored(store, 'hello', 'u1')
    assert.ok(await store.has(sha256))
    assert.equal(await store.get(sha256), { sha256, ...META, createdAt: new Date(AT).toISOString() })
  })

  it('[IS2] an image never recorded is not there and has no owner', async (open) => {
    const store = await open()
    const sha256 = 'b'.repeat(64)
    assert.not.ok(await store.has(sha256))
    assert.is(await store.get(sha256), null)
    assert.not.ok(await store.isOwner(sha256, 'u1'))
  })

  it('[IS3] recording again answers false, keeps the first description and adds the owner', async (open) => {
    const store = await open()
    const { file, sha256 } = received(store, 'hello')
    await store.adopt(file, sha256)
    assert.ok(await store.record(sha256, META, 'u1'))
    const second = await open(later)
    assert.not.ok(await second.record(sha256, { ...META, width: 1 }, 'u2'))
    assert.equal(await second.get(sha256), { sha256, ...META, createdAt: new Date(AT).toISOString() })
    assert.ok(await second.isOwner(sha256, 'u2'))
    assert.ok(await second.isOwner(sha256, 'u1'))
  })

  it('[IS4] only owners are owners; addOwner makes one more', async (open) => {
    const store = await open()
    const sha256 = await stored(store, 'hello', 'u1')
    assert.not.ok(await store.isOwner(sha256, 'u2'))
    await store.addOwner(sha256, 'u2')
    assert.ok(await store.isOwner(sha256, 'u2'))
    assert.not.ok(await store.isOwner(sha256, 'u3'))
    assert.not.ok(await store.isOwner('c'.repeat(64), 'u1'))
  })
}

/** Files and restarts [IS5]-[IS9]. */
function fileRules(it: It): void {
  it('[IS5] adopt puts the whole file at the image\'s path and the received file is gone', async (open) => {
    const store = await open()
    const { file, sha256, bytes } = received(store, 'hello')
    await store.adopt(file, sha256)
    assert.equal(readFileSync(store.path(sha256)), bytes)
    assert.is(await store.localPath(sha256), store.path(sha256))
    assert.not.ok(existsSync(file))
  })

  it('[IS5] localPath refuses an image whose bytes the store does not hold', async (open) => {
    const store = await open()
    await assertRejects(store.localPath('d'.repeat(64)), ImageMissingError)
  })

  it('[IS6] nothing but a sha256 hex digest becomes a path or a record', async (open) => {
    const store = await open()
    for (const bad of ['../../etc/passwd', 'A'.repeat(64), 'a'.repeat(63), '']) {
      assert.throws(() => store.path(bad), undefined, bad)
      await assertRejects(store.localPath(bad), Error, bad)
      await assertRejects(store.record(bad, META, 'u1'), Error, bad)
    }
  })

  it('[IS7] incoming names are fresh and inside the incoming directory', async (open) => {
    const store = await open()
    const names = new Set(Array.from({ length: 100 }, () => store.incomingPath()))
    assert.is(names.size, 100)
    for (const name of names) assert.is(dirname(name), store.incomingDir)
  })

  it('[IS8] images, files and owners survive a restart', async (open) => {
    const sha256 = await stored(await open(), 'hello', 'u1')
    const restarted = await open(later)
    assert.equal(await restarted.get(sha256), { sha256, ...META, createdAt: new Date(AT).toISOString() })
    assert.ok(await restarted.isOwner(sha256, 'u1'))
    assert.equal(readFileSync(await restarted.localPath(sha256), 'utf8'), 'hello')
  })

  it('[IS9] what a crash left half-received is gone when a store opens', async (open) => {
    const store = await open()
    received(store, 'half a photo')
    assert.is(readdirSync((await open()).incomingDir).length, 0)
  })
}
