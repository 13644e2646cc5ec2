// A relay whose disk fills up (issue 13, point 11), on a real full filesystem: its data directory
// on an 8 MiB tmpfs, filled with a file until the kernel says ENOSPC. Uploads answer 507 and
// sign-in/up 503, both with Retry-After, nothing is left half-written, and everything works again
// once there is room. Needs root, for mount.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { fillFilesystem } from '../helpers/full-disk.ts'
import { makePhoto, removeDir, sha256Hex, signUp, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'

const PASSWORD = 'correct horse battery'
let mountPoint = ''
let relay: RelayProcess
let customer: { token: string; email: string }
let filler = ''
/** A tus upload created while there was room, to be sent on a full disk and then resumed. */
let upload: { location: string; bytes: Buffer } = { location: '', bytes: Buffer.alloc(0) }

test.before(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and needs root (CI runs as root)')
  mountPoint = tempDir('labsync-disk-full-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint])
  const dataDir = join(mountPoint, 'relay')
  mkdirSync(dataDir)
  relay = await startRelay({ dataDir })
  customer = await signUp(relay.url)
  upload.bytes = await makePhoto(2)
  const created = await tusCreate(upload.bytes)
  assert.is(created.status, 201)
  upload.location = created.headers.get('location')!
  filler = join(mountPoint, 'filler')
})
test.after.each(() => rmSync(filler, { force: true }))

test.after(async () => {
  await relay?.stop()
  if (!mountPoint) return
  execFileSync('umount', [mountPoint])
  removeDir(mountPoint)
})

const bearer = () => ({ authorization: `Bearer ${customer.token}` })
const tusHeaders = () => ({ ...bearer(), 'tus-resumable': '1.0.0' })

function tusCreate(bytes: Buffer): Promise<Response> {
  return fetch(`${relay.url}/api/uploads`, {
    method: 'POST',
    headers: { ...tusHeaders(), 'upload-length': String(bytes.length), 'upload-metadata': `sha256 ${Buffer.from(sha256Hex(bytes)).toString('base64')}` },
  })
}
async function tusPatch(location: string, offset: number, bytes: Buffer): Promise<Response> {
  return fetch(`${relay.url}${location}`, {
    method: 'PATCH',
    headers: { ...tusHeaders(), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    body: new Uint8Array(bytes),
  })
}
async function put(bytes: Buffer): Promise<{ status: number; retryAfter: string | null; json: any }> {
  const res = await fetch(`${relay.url}/api/images/${sha256Hex(bytes)}`, { method: 'PUT', headers: bearer(), body: new Uint8Array(bytes) })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() }
}
async function postJson(path: string, body: object): Promise<{ status: number; retryAfter: string | null; json: any }> {
  const res = await fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() }
}

function imageRecorded(hash: string): boolean {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT 1 FROM images WHERE sha256 = ?').get(hash) !== undefined
  } finally {
    db.close()
  }
}

test('a photo PUT on a full disk answers 507 with Retry-After and leaves no file and no row; with room again it is stored', async () => {
  const photo = await makePhoto(1, 1200, 900)
  fillFilesystem(filler)
  const answer = await put(photo)
  assert.is(answer.status, 507, JSON.stringify(answer.json))
  assert.match(answer.json.error, /storage is full/)
  assert.ok(Number(answer.retryAfter) >= 1, `Retry-After ${answer.retryAfter}`)
  const hash = sha256Hex(photo)
  assert.equal(readdirSync(join(relay.dataDir, 'images', '.incoming')), [], 'no half-received file')
  assert.not.ok(existsSync(join(relay.dataDir, 'images', hash.slice(0, 2), hash)), 'no image file')
  assert.not.ok(imageRecorded(hash), 'no images row')
  rmSync(filler)
  assert.is((await put(photo)).status, 201)
})

test('tus on a full disk: a creation and a PATCH answer 507 with Retry-After, a failed creation leaves no files; with room the upload resumes', async () => {
  fillFilesystem(filler)
  const before = readdirSync(join(relay.dataDir, 'uploads')).sort()
  const created = await tusCreate(await makePhoto(3))
  assert.is(created.status, 507)
  assert.match((await created.json()).error, /storage is full/)
  assert.ok(Number(created.headers.get('retry-after')) >= 1)
  assert.equal(readdirSync(join(relay.dataDir, 'uploads')).sort(), before, 'nothing left of the refused creation')

  const patched = await tusPatch(upload.location, 0, upload.bytes)
  assert.is(patched.status, 507)
  assert.ok(Number(patched.headers.get('retry-after')) >= 1)
  await patched.arrayBuffer()

  rmSync(filler)
  const head = await fetch(`${relay.url}${upload.location}`, { method: 'HEAD', headers: tusHeaders() })
  assert.is(head.status, 200, 'the upload is still there to resume')
  const offset = Number(head.headers.get('upload-offset'))
  const rest = await tusPatch(upload.location, offset, upload.bytes.subarray(offset))
  assert.is(rest.status, 204)
  await rest.arrayBuffer()
  assert.ok(imageRecorded(sha256Hex(upload.bytes)))
})

test('sign-in and sign-up on a full database answer 503 with Retry-After; with room again they succeed', async () => {
  fillFilesystem(filler)
  const signIn = await postJson('/api/sessions', { email: customer.email, password: PASSWORD })
  assert.is(signIn.status, 503, JSON.stringify(signIn.json))
  assert.match(signIn.json.error, /storage is full/)
  assert.ok(Number(signIn.retryAfter) >= 1)
  const signUpAnswer = await postJson('/api/accounts', { email: 'full@example.test', password: PASSWORD, name: 'Full' })
  assert.is(signUpAnswer.status, 503, JSON.stringify(signUpAnswer.json))
  assert.ok(Number(signUpAnswer.retryAfter) >= 1)
  rmSync(filler)
  assert.is((await postJson('/api/sessions', { email: customer.email, password: PASSWORD })).status, 200)
  assert.is((await postJson('/api/accounts', { email: 'full@example.test', password: PASSWORD, name: 'Full' })).status, 201)
})

test.run()
