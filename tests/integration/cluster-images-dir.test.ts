// Photos in a cluster whose bytes are in a shared directory (--images DIR, here by LABSYNC_IMAGES:
// two relay processes on one real PostgreSQL and Redis, and one temporary directory standing for
// their NFS mount): a photo PUT to relay A is served by relay B from the directory, a tus upload
// finished on one relay lands there too, and neither copies the bytes into PostgreSQL or its own
// --data; a recorded photo whose file is missing is answered 503 (retry later) by every relay,
// and served again once its file is put back, or once its owner sends it again (PUT or tus);
// /healthz answers 503 naming the directory while it is gone or replaced by a file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { startCluster, type Cluster } from '../helpers/cluster.ts'
import { send } from '../helpers/cluster-http.ts'
import { poll } from '../helpers/cluster-load.ts'
import { makePhoto, removeDir, sha256Hex, signUp, tempDir } from '../helpers/relay.ts'

const shared = tempDir('labsync-cluster-images-')
let cluster: Cluster | null = null
let db: pg.Pool | null = null
/** Started by the first test that asks (uvu 0.5 swallows an error thrown in test.before). */
async function setUp(): Promise<Cluster> {
  cluster ??= await startCluster({ relays: 2, env: { LABSYNC_IMAGES: shared } })
  db ??= new pg.Pool({ connectionString: cluster.store, max: 2 })
  return cluster
}
test.after(async () => {
  await db?.end()
  await cluster?.stop()
  removeDir(shared)
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const direct = (c: Cluster, i: number, path: string) => `${c.relays[i]!.url}${path}`
const inShared = (sha256: string) => join(shared, sha256.slice(0, 2), sha256)

/** The photo's bytes in PostgreSQL's image_bytes table (none are expected with a directory). */
async function bytesInPostgres(sha256: string): Promise<number> {
  const { rows } = await db!.query<{ n: number }>('SELECT count(*)::int AS n FROM image_bytes WHERE sha256 = $1', [sha256])
  return rows[0].n
}

/** Photo files a relay keeps under its --data (what it is receiving aside). */
function photosUnder(dataDir: string): string[] {
  const images = join(dataDir, 'images')
  if (!existsSync(images)) return []
  return readdirSync(images, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.parentPath.includes('.incoming')).map((entry) => entry.name)
}

/** A new customer's photo made from `seed`, PUT to relay A (relays[0]). */
async function putOnRelayA(c: Cluster, seed: number): Promise<{ owner: { token: string }; bytes: Buffer; sha: string }> {
  const owner = await signUp(c.relays[0]!.url)
  const bytes = await makePhoto(seed)
  const sha = sha256Hex(bytes)
  const put = await send(direct(c, 0, `/api/images/${sha}`), { method: 'PUT', body: bytes, headers: { ...bearer(owner.token), 'content-type': 'image/jpeg' } })
  assert.is(put.status, 201, put.body.toString())
  return { owner, bytes, sha }
}

test('a photo PUT to relay A is served by relay B from the shared directory, with no copy in PostgreSQL or any --data', async () => {
  const c = await setUp()
  const { owner, bytes, sha } = await putOnRelayA(c, 1)
  assert.ok(readFileSync(inShared(sha)).equals(bytes), 'the file is in the shared directory by its hash')
  const read = await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(owner.token) })
  assert.is(read.status, 200, read.body.toString())
  assert.is(sha256Hex(read.body), sha, 'relay B served the bytes relay A received')
  assert.is(await bytesInPostgres(sha), 0, 'no bytes in PostgreSQL')
  for (const relay of c.relays) assert.equal(photosUnder(relay!.dataDir), [], `no copy under ${relay!.dataDir}`)
  const other = await signUp(c.relays[1]!.url)
  assert.is((await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(other.token) })).status, 404, 'ownership is still checked')
})

/** The photo sent by tus: created on relays[create], its bytes sent by PATCHes to relays[create] then relays[finish]. */
async function tusUpload(c: Cluster, token: string, bytes: Buffer, create: number, finish: number): Promise<void> {
  const sha = sha256Hex(bytes)
  const tus = { ...bearer(token), 'tus-resumable': '1.0.0' }
  const created = await send(direct(c, create, '/api/uploads'), { method: 'POST', headers: { ...tus, 'upload-length': String(bytes.length), 'upload-metadata': `sha256 ${Buffer.from(sha).toString('base64')}` } })
  assert.is(created.status, 201, created.body.toString())
  const half = Math.floor(bytes.length / 2)
  const location = String(created.headers.location)
  for (const [i, start, end] of [[create, 0, half], [finish, half, bytes.length]]) {
    const answer = await send(direct(c, i, location), { method: 'PATCH', body: bytes.subarray(start, end), headers: { ...tus, 'upload-offset': String(start), 'content-type': 'application/offset+octet-stream' } })
    assert.is(answer.status, 204, `PATCH on relay${i + 1}: ${answer.status} ${answer.body}`)
  }
}

test('a tus upload created on relay A and finished on relay B lands in the shared directory', async () => {
  const c = await setUp()
  const me = await signUp(c.relays[0]!.url)
  const bytes = await makePhoto(2)
  const sha = sha256Hex(bytes)
  await tusUpload(c, me.token, bytes, 0, 1)
  assert.ok(readFileSync(inShared(sha)).equals(bytes), 'the finished upload is in the shared directory')
  assert.is(await bytesInPostgres(sha), 0)
  const read = await send(direct(c, 0, `/api/images/${sha}`), { headers: bearer(me.token) })
  assert.is(read.status, 200)
  assert.is(sha256Hex(read.body), sha)
})

test('a recorded photo whose file is missing is answered 503 with Retry-After by every relay, and served again once the file is back', async () => {
  const c = await setUp()
  const { owner, sha } = await putOnRelayA(c, 3)
  const aside = join(shared, `aside-${sha}`)
  renameSync(inShared(sha), aside) // lost: a directory restored from a backup older than the database
  for (const i of [0, 1]) {
    const read = await send(direct(c, i, `/api/images/${sha}`), { headers: bearer(owner.token) })
    assert.is(read.status, 503, `relay${i + 1}: ${read.status} ${read.body}`)
    assert.is(read.headers['retry-after'], '60')
    // Logged before the answer is sent, but the relay's output pipe may be read after the answer's socket.
    const logged = `relay: photo ${sha} is recorded but cannot be served: no bytes of image ${sha} in ${shared}`
    await poll(() => c.relays[i]!.output().includes(logged), `relay${i + 1} to log the missing photo`).catch((error: Error) => assert.unreachable(`${error.message}\n${c.output()}`))
  }
  renameSync(aside, inShared(sha)) // put back
  const read = await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(owner.token) })
  assert.is(read.status, 200, read.body.toString())
  assert.is(sha256Hex(read.body), sha)
})

/** What `relays[i]` answers the photo's owner. */
const read = (c: Cluster, i: number, sha: string, token: string) => send(direct(c, i, `/api/images/${sha}`), { headers: bearer(token) })

test('a photo whose file was lost from the directory is put back by its owner sending it again by PUT, and every relay serves it', async () => {
  const c = await setUp()
  const { owner, bytes, sha } = await putOnRelayA(c, 4)
  rmSync(inShared(sha)) // lost, with no backup to put it back from
  assert.is((await read(c, 1, sha, owner.token)).status, 503)
  const again = await send(direct(c, 1, `/api/images/${sha}`), { method: 'PUT', body: bytes, headers: { ...bearer(owner.token), 'content-type': 'image/jpeg' } })
  assert.is(again.status, 200, again.body.toString())
  assert.ok(readFileSync(inShared(sha)).equals(bytes), 'the file is back in the shared directory')
  for (const i of [0, 1]) {
    const served = await read(c, i, sha, owner.token)
    assert.is(served.status, 200, `relay${i + 1}: ${served.status} ${served.body}`)
    assert.ok(served.body.equals(bytes))
  }
  assert.equal(readdirSync(join(shared, '.incoming')), [], 'nothing left staged')
})

test('a photo whose file was lost from the directory is put back by its owner sending it again by tus', async () => {
  const c = await setUp()
  const me = await signUp(c.relays[0]!.url)
  const bytes = await makePhoto(5)
  const sha = sha256Hex(bytes)
  await tusUpload(c, me.token, bytes, 0, 1)
  rmSync(inShared(sha))
  assert.is((await read(c, 0, sha, me.token)).status, 503)
  await tusUpload(c, me.token, bytes, 1, 0)
  assert.ok(readFileSync(inShared(sha)).equals(bytes), 'the file is back in the shared directory')
  const served = await read(c, 1, sha, me.token)
  assert.is(served.status, 200, served.body.toString())
  assert.ok(served.body.equals(bytes))
})

/** Every relay's /healthz: status, Retry-After and error. */
async function healths(c: Cluster): Promise<Array<{ status: number; retryAfter: string | undefined; error: string | undefined }>> {
  return Promise.all(c.relays.map(async (relay) => {
    const answer = await send(`${relay!.url}/healthz`)
    const body = JSON.parse(answer.body.toString()) as { error?: string }
    return { status: answer.status, retryAfter: answer.headers['retry-after'] as string | undefined, error: body.error }
  }))
}

/** Polls every relay's /healthz until each answers `status`; the probe asks every 2 s, a hung one is waited for 5 s. */
const allAnswer = (c: Cluster, status: number) => poll(async () => {
  const answers = await healths(c)
  return answers.every((answer) => answer.status === status) ? answers : null
}, `every relay's /healthz answering ${status}`, 15_000, 100)

test('/healthz answers 503 naming the images directory while it is gone or replaced by a file, and 200 once it is back', async () => {
  const c = await setUp()
  await allAnswer(c, 200)
  const away = `${shared}-away`
  try {
    renameSync(shared, away) // the share unmounted, or the directory removed
    for (const answer of await allAnswer(c, 503)) {
      assert.is(answer.retryAfter, '5')
      assert.match(answer.error ?? '', `the relay cannot serve: the images directory ${shared} cannot be written (ENOENT)`)
    }
    writeFileSync(shared, '') // a file where the directory was
    for (const answer of await poll(async () => {
      const answers = await healths(c)
      return answers.every((answer) => answer.error?.includes('ENOTDIR')) ? answers : null
    }, 'ENOTDIR on every relay', 15_000, 100)) assert.is(answer.status, 503)
  } finally {
    rmSync(shared, { force: true })
    if (existsSync(away)) renameSync(away, shared)
  }
  await allAnswer(c, 200)
})

test.run()
