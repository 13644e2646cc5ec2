// Photos by content hash through a real relay process: PUT, resumable tus uploads with tus-js-client,
// and reading them back with SPEC's rights (owner, admin, a lab only when allowed).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import * as tus from 'tus-js-client'
import Database from 'better-sqlite3'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { sqliteAccounts, type Accounts } from '../../relay/store/accounts.ts'
import { Authenticator } from '../../relay/auth.ts'
import { createImages, type Images, type ImagesDeps } from '../../photos/intake.ts'
import { SqliteImageStore } from '../../storage/sqlite/image-store.ts'
import { sendError } from '../../sync-server/respond.ts'
import { removeDir, signUp, startRelay, type RelayProcess } from '../helpers/relay.ts'

// tus-js-client's types do not declare the Node-only FileUrlStorage it exports (4.3.1).
const { FileUrlStorage } = tus as unknown as { FileUrlStorage: new (path: string) => NonNullable<tus.Upload['options']['urlStorage']> }

const ADMIN = 'demo-admin-token'
const LAB = 'demo-lab-key'
const SMALL_LIMIT = 200_000
/** limits.pendingUploadBytes of the small relay: two and a half of its largest photos. */
const QUOTA = 500_000

/** A relay process and a read-only look into its database, to check what was (not) stored. */
interface Running { url: string; dataDir: string; db: Database.Database; process: RelayProcess }
let main: Running
let small: Running

async function start(config: object): Promise<Running> {
  const child = await startRelay({ config })
  const db = new Database(join(child.dataDir, 'relay.sqlite'), { readonly: true })
  return { url: child.url, dataDir: child.dataDir, db, process: child }
}

test.before(async () => {
  ;[main, small] = await Promise.all([start(DEMO_CONFIG), start({ ...DEMO_CONFIG, limits: { imageBytes: SMALL_LIMIT, pendingUploadBytes: QUOTA } })])
})
test.after(async () => {
  for (const at of [main, small]) {
    if (!at) continue
    at.db.close()
    await at.process.stop()
    removeDir(at.dataDir)
  }
})

// ------------------------------------------------------------------ helpers

let seed = 1
/** A JPEG of noise (so it compresses badly and its size is predictable), different every call. */
async function photo(width = 400, height = 300): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3)
  let x = seed++ * 2654435761
  for (let i = 0; i < raw.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    raw[i] = x >>> 24
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer()
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

interface Answer { status: number; headers: Headers; body: Buffer; json(): any }
/** fetch, with the body always read: an unread body keeps its socket open and the run never ends. */
async function call(url: string, init: Omit<RequestInit, 'body'> & { body?: Buffer } = {}): Promise<Answer> {
  const res = await fetch(url, { ...init, body: init.body && new Uint8Array(init.body) })
  const body = Buffer.from(await res.arrayBuffer())
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) }
}

function put(at: Running, hash: string, body: Buffer, token?: string): Promise<Answer> {
  return call(`${at.url}/api/images/${hash}`, { method: 'PUT', headers: token ? bearer(token) : {}, body })
}
function get(at: Running, hash: string, token: string, method = 'GET'): Promise<Answer> {
  return call(`${at.url}/api/images/${hash}`, { method, headers: bearer(token) })
}

/** Nothing of this image anywhere: no row, no owner, no file, nothing half-received. */
function assertNothingStored(at: Running, hash: string): void {
  assert.is(at.db.prepare('SELECT 1 FROM images WHERE sha256 = ?').get(hash), undefined, 'no images row')
  assert.is(at.db.prepare('SELECT 1 FROM image_owners WHERE sha256 = ?').get(hash), undefined, 'no owner row')
  assert.not.ok(existsSync(join(at.dataDir, 'images', hash.slice(0, 2), hash)), 'no image file')
  assert.equal(readdirSync(join(at.dataDir, 'images', '.incoming')), [], 'no temp file left')
}

/** Runs a tus-js-client upload to its end; resolves with the error status when it is refused. */
function runUpload(upload: tus.Upload): Promise<{ ok: true } | { ok: false; status: number; body: string }> {
  return new Promise((resolve) => {
    upload.options.onSuccess = () => resolve({ ok: true })
    upload.options.onError = (error) => {
      const response = (error as tus.DetailedError).originalResponse
      resolve({ ok: false, status: response?.getStatus() ?? 0, body: response?.getBody() ?? String(error) })
    }
    upload.start()
  })
}

function tusPost(at: Running, token: string, length: number, metadata: Record<string, string>): Promise<Answer> {
  const encoded = Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',')
  return call(`${at.url}/api/uploads`, {
    method: 'POST',
    headers: { ...bearer(token), 'tus-resumable': '1.0.0', 'upload-length': String(length), ...(encoded ? { 'upload-metadata': encoded } : {}) },
  })
}

// ------------------------------------------------------------------ PUT

test('PUT of a new photo answers 201 with what it is, the same again 200', async () => {
  const me = await signUp(main.url)
  const bytes = await photo(400, 300)
  const first = await put(main, sha(bytes), bytes, me.token)
  assert.is(first.status, 201)
  assert.equal(await first.json(), { sha256: sha(bytes), bytes: bytes.length, width: 400, height: 300, format: 'jpeg' })
  const again = await put(main, sha(bytes), bytes, me.token)
  assert.is(again.status, 200)
  assert.is((await again.json()).sha256, sha(bytes))
})

test('a second customer uploading the same bytes becomes an owner and can read it; a third cannot', async () => {
  const [first, second, third] = [await signUp(main.url), await signUp(main.url), await signUp(main.url)]
  const bytes = await photo()
  const hash = sha(bytes)
  assert.is((await put(main, hash, bytes, first.token)).status, 201)
  assert.is((await get(main, hash, second.token)).status, 404, 'not an owner before uploading')
  assert.is((await put(main, hash, bytes, second.token)).status, 200)
  const read = await get(main, hash, second.token)
  assert.is(read.status, 200)
  assert.ok(read.body.equals(bytes), 'identical bytes')
  const refused = await get(main, hash, third.token)
  assert.is(refused.status, 404)
  assert.equal(await refused.json(), { error: 'no such image' })
})

test('GET answers an unknown image exactly like a forbidden one', async () => {
  const [owner, other] = [await signUp(main.url), await signUp(main.url)]
  const bytes = await photo()
  await put(main, sha(bytes), bytes, owner.token)
  const forbidden = await get(main, sha(bytes), other.token)
  const unknown = await get(main, 'f'.repeat(64), other.token)
  assert.is(forbidden.status, unknown.status)
  assert.equal(await forbidden.json(), await unknown.json())
})

test('GET serves the owner the file with its type, an immutable private cache and the hash as ETag', async () => {
  const me = await signUp(main.url)
  const bytes = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#c04020' } }).png().toBuffer()
  const hash = sha(bytes)
  assert.is((await put(main, hash, bytes, me.token)).status, 201)
  const read = await get(main, hash, me.token)
  assert.is(read.status, 200)
  assert.is(read.headers.get('content-type'), 'image/png')
  assert.is(read.headers.get('cache-control'), 'private, max-age=31536000, immutable')
  assert.is(read.headers.get('etag'), `"${hash}"`)
  assert.is(read.headers.get('content-length'), String(bytes.length))
  assert.ok(read.body.equals(bytes))
  const head = await get(main, hash, me.token, 'HEAD')
  assert.is(head.status, 200)
  assert.is(head.headers.get('content-length'), String(bytes.length))
  const cached = await call(`${main.url}/api/images/${hash}`, { headers: { ...bearer(me.token), 'if-none-match': `"${hash}"` } })
  assert.is(cached.status, 304)
})

test('an admin reads any image; a lab is refused unless labMayRead says yes', async () => {
  const me = await signUp(main.url)
  const bytes = await photo()
  await put(main, sha(bytes), bytes, me.token)
  assert.is((await get(main, sha(bytes), ADMIN)).status, 200)
  const lab = await get(main, sha(bytes), LAB)
  assert.is(lab.status, 404)
  assert.equal(await lab.json(), { error: 'no such image' })
})

test('a body whose hash differs from the URL is refused with 400 and nothing is stored', async () => {
  const me = await signUp(main.url)
  const bytes = await photo()
  const claimed = sha(Buffer.concat([bytes, Buffer.from('x')]))
  const res = await put(main, claimed, bytes, me.token)
  assert.is(res.status, 400)
  assert.match((await res.json()).error, /sha256/)
  assertNothingStored(main, claimed)
  assertNothingStored(main, sha(bytes))
})

test('a text file with the right hash is no image: 400, nothing stored', async () => {
  const me = await signUp(main.url)
  const text = Buffer.from('these are not the pixels you are looking for\n'.repeat(40))
  const res = await put(main, sha(text), text, me.token)
  assert.is(res.status, 400)
  assert.match((await res.json()).error, /not a complete/)
  assertNothingStored(main, sha(text))
})

test('a truncated JPEG is refused with 400, nothing stored', async () => {
  const me = await signUp(main.url)
  const whole = await photo()
  const cut = whole.subarray(0, Math.floor(whole.length * 0.8))
  const res = await put(main, sha(cut), cut, me.token)
  assert.is(res.status, 400)
  assertNothingStored(main, sha(cut))
})

test('a body over limits.imageBytes is refused with 413 from its Content-Length, nothing stored', async () => {
  const me = await signUp(small.url)
  const big = await photo(640, 480)
  assert.ok(big.length > SMALL_LIMIT, `test photo is ${big.length} bytes`)
  const res = await put(small, sha(big), big, me.token)
  assert.is(res.status, 413)
  assert.match((await res.json()).error, /at most 200000 bytes/)
  assertNothingStored(small, sha(big))
})

test('a streamed body without Content-Length is cut off with 413 once it passes the limit', async () => {
  const me = await signUp(small.url)
  const big = await photo(640, 480)
  const hash = sha(big)
  const url = new URL(`${small.url}/api/images/${hash}`)
  const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
    let sent = 0
    let answered = false
    const req = request(url, { method: 'PUT', headers: { ...bearer(me.token), 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true
      let body = ''
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body, sent }))
    })
    req.on('error', (error) => { if (!answered) reject(error) })
    // A slow sender: the relay answers while the body is still coming. The last chunk waits up to
    // 10 s for that answer, so a busy machine cannot make the whole body arrive first.
    let holdingSince = 0
    const pump = () => {
      if (answered || sent >= big.length) return void req.end()
      if (sent + 16_384 >= big.length) {
        holdingSince ||= Date.now()
        if (Date.now() - holdingSince < 10_000) return void setTimeout(pump, 20)
      }
      req.write(big.subarray(sent, sent + 16_384))
      sent += 16_384
      setTimeout(pump, 2)
    }
    pump()
  })
  assert.is(answer.status, 413)
  assert.ok(answer.sent < big.length, `answered after ${answer.sent} of ${big.length} bytes`)
  assert.match(JSON.parse(answer.body).error, /at most/)
  assertNothingStored(small, hash)
})

test('PUT needs a customer: no token 401, a lab key or an admin token 403', async () => {
  const bytes = await photo(40, 30)
  const none = await put(main, sha(bytes), bytes)
  assert.is(none.status, 401)
  assert.ok((await none.json()).error)
  assert.is((await put(main, sha(bytes), bytes, LAB)).status, 403)
  assert.is((await put(main, sha(bytes), bytes, ADMIN)).status, 403)
  assertNothingStored(main, sha(bytes))
})

test('a URL that is not 64 lowercase hex digits is a 400', async () => {
  const me = await signUp(main.url)
  const bytes = await photo(40, 30)
  assert.is((await put(main, sha(bytes).toUpperCase(), bytes, me.token)).status, 400)
  assert.is((await put(main, '..%2F..%2Frelay.sqlite', bytes, me.token)).status, 400)
})

// ------------------------------------------------------------------ tus

test('a tus upload cut after its first chunk resumes from the relay\'s offset and sends only the rest', async () => {
  const me = await signUp(main.url)
  const bytes = await photo(800, 600)
  const hash = sha(bytes)
  const chunkSize = 64 * 1024
  assert.ok(bytes.length > 3 * chunkSize, `photo is ${bytes.length} bytes`)
  const storage = join(main.dataDir, 'tus-client-urls.json')
  const options = (): tus.UploadOptions => ({
    endpoint: `${main.url}/api/uploads`,
    headers: bearer(me.token),
    metadata: { sha256: hash, filename: 'holiday.jpg', filetype: 'image/jpeg' },
    chunkSize,
    retryDelays: null,
    urlStorage: new FileUrlStorage(storage),
  })

  // First run: abort as soon as the first chunk is acknowledged, like a connection lost.
  const first = new tus.Upload(bytes, options())
  await new Promise<void>((resolve, reject) => {
    first.options.onChunkComplete = () => void first.abort().then(resolve, reject)
    first.options.onError = reject
    first.start()
  })
  assert.ok(first.url, 'the upload has a URL')
  const head = await call(first.url!, { method: 'HEAD', headers: { ...bearer(me.token), 'tus-resumable': '1.0.0' } })
  assert.is(head.headers.get('upload-offset'), String(chunkSize), 'the relay holds the first chunk')
  assert.is((await get(main, hash, me.token)).status, 404, 'not an image until complete')

  // Second run, a new client with the same URL storage: it finds the upload and continues it.
  const second = new tus.Upload(bytes, options())
  const previous = await second.findPreviousUploads()
  assert.is(previous.length, 1)
  second.resumeFromPreviousUpload(previous[0])
  const methods: string[] = []
  const patchOffsets: number[] = []
  let resumedAt = -1
  let sent = 0
  second.options.onBeforeRequest = (req) => {
    methods.push(req.getMethod())
    if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')))
  }
  second.options.onAfterResponse = (req, res) => {
    if (req.getMethod() === 'HEAD') resumedAt = Number(res.getHeader('Upload-Offset'))
  }
  second.options.onChunkComplete = (chunk) => void (sent += chunk)
  const result = await runUpload(second)
  assert.equal(result, { ok: true })
  assert.is(resumedAt, chunkSize, 'resumed from the relay\'s offset')
  assert.not.ok(methods.includes('POST'), 'no new upload was created')
  assert.is(patchOffsets[0], chunkSize, 'the first PATCH starts after the first chunk')
  assert.is(sent, bytes.length - chunkSize, 'only the rest was sent')

  const read = await get(main, hash, me.token)
  assert.is(read.status, 200)
  assert.ok(read.body.equals(bytes), 'identical bytes')
  const uploadId = new URL(first.url!).pathname.split('/').pop()!
  assert.not.ok(existsSync(join(main.dataDir, 'uploads', uploadId)), 'the finished upload is gone from uploads/')
  assert.not.ok(existsSync(join(main.dataDir, 'uploads', `${uploadId}.json`)))
})

test('a tus upload whose sha256 metadata is wrong is refused with 460 and nothing is stored', async () => {
  const me = await signUp(main.url)
  const bytes = await photo()
  const claimed = sha(Buffer.from('something else'))
  const upload = new tus.Upload(bytes, {
    endpoint: `${main.url}/api/uploads`, headers: bearer(me.token), metadata: { sha256: claimed }, retryDelays: null,
  })
  const result = await runUpload(upload)
  assert.equal(result.ok ? 0 : result.status, 460)
  if (!result.ok) assert.match(JSON.parse(result.body).error, /sha256/)
  assertNothingStored(main, claimed)
  assertNothingStored(main, sha(bytes))
  const uploadId = new URL(upload.url!).pathname.split('/').pop()!
  assert.not.ok(existsSync(join(main.dataDir, 'uploads', uploadId)), 'the refused upload is deleted')
  assert.not.ok(existsSync(join(main.dataDir, 'uploads', `${uploadId}.json`)))
})

test('a tus upload of something that is no image is refused with 460', async () => {
  const me = await signUp(main.url)
  const text = Buffer.from('plain text, honestly hashed\n'.repeat(100))
  const result = await runUpload(new tus.Upload(text, {
    endpoint: `${main.url}/api/uploads`, headers: bearer(me.token), metadata: { sha256: sha(text) }, retryDelays: null,
  }))
  assert.equal(result.ok ? 0 : result.status, 460)
  assertNothingStored(main, sha(text))
})

test('creating a tus upload needs a customer and sha256 metadata', async () => {
  const me = await signUp(main.url)
  const hash = sha(Buffer.from('x'))
  const none = await call(`${main.url}/api/uploads`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } })
  assert.is(none.status, 401)
  assert.ok((await none.json()).error)
  assert.is((await tusPost(main, LAB, 10, { sha256: hash })).status, 403)
  assert.is((await tusPost(main, ADMIN, 10, { sha256: hash })).status, 403)
  const missing = await tusPost(main, me.token, 10, { filename: 'a.jpg' })
  assert.is(missing.status, 400)
  assert.match((await missing.json()).error, /sha256/)
  assert.is((await tusPost(main, me.token, 10, { sha256: 'ABC' })).status, 400)
})

test('a tus upload over the limit is refused at creation with 413', async () => {
  const me = await signUp(small.url)
  const res = await tusPost(small, me.token, SMALL_LIMIT + 1, { sha256: sha(Buffer.from('x')) })
  assert.is(res.status, 413)
  assert.ok((await res.json()).error)
})

test('only its creator may continue an upload: another customer gets 404 on HEAD, PATCH and DELETE', async () => {
  const [owner, other] = [await signUp(main.url), await signUp(main.url)]
  const bytes = await photo(40, 30)
  const created = await tusPost(main, owner.token, bytes.length, { sha256: sha(bytes), owner: other.userId })
  assert.is(created.status, 201)
  const location = created.headers.get('location')!
  assert.match(location, /^\/api\/uploads\/[0-9a-f]{32}$/, 'a relative upload URL, same origin as the page')
  const uploadUrl = `${main.url}${location}`
  const tusHeaders = (token: string) => ({ ...bearer(token), 'tus-resumable': '1.0.0' })

  assert.is((await call(uploadUrl, { method: 'HEAD', headers: tusHeaders(other.token) })).status, 404, 'a client-sent owner is ignored')
  const patch = await call(uploadUrl, {
    method: 'PATCH',
    headers: { ...tusHeaders(other.token), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: bytes,
  })
  assert.is(patch.status, 404)
  assert.is((await call(uploadUrl, { method: 'DELETE', headers: tusHeaders(other.token) })).status, 404)
  assert.is((await call(uploadUrl, { method: 'HEAD', headers: tusHeaders(LAB) })).status, 403)
  assert.is((await call(uploadUrl, { method: 'GET', headers: tusHeaders(owner.token) })).status, 405, 'uploads are never read back through tus')

  const mine = await call(uploadUrl, { method: 'HEAD', headers: tusHeaders(owner.token) })
  assert.is(mine.status, 200)
  assert.is(mine.headers.get('upload-offset'), '0', 'the other customer wrote nothing')
  const finish = await call(uploadUrl, {
    method: 'PATCH',
    headers: { ...tusHeaders(owner.token), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: bytes,
  })
  assert.is(finish.status, 204)
  assert.is((await get(main, sha(bytes), owner.token)).status, 200)
  assert.is((await get(main, sha(bytes), other.token)).status, 404)
})

test('a browser on the same origin can read the tus headers it needs', async () => {
  const me = await signUp(main.url)
  const preflight = await call(`${main.url}/api/uploads`, {
    method: 'OPTIONS',
    headers: { origin: main.url, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, tus-resumable, upload-length, upload-metadata' },
  })
  assert.is(preflight.status, 204)
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/)
  assert.match(preflight.headers.get('tus-extension') ?? '', /creation/)
  const created = await tusPost(main, me.token, 10, { sha256: sha(Buffer.from('x')) })
  const exposed = created.headers.get('access-control-expose-headers') ?? ''
  for (const header of ['Location', 'Upload-Offset', 'Tus-Resumable']) assert.match(exposed, new RegExp(header))
})

// ------------------------------------------------------------------ the quota of unfinished uploads

const tusHeaders = (token: string) => ({ ...bearer(token), 'tus-resumable': '1.0.0' })
const anyHash = () => sha(Buffer.from(String(seed++)))

test('a customer\'s unfinished uploads may declare at most limits.pendingUploadBytes: one more is refused with 429, a JSON error and Retry-After', async () => {
  const [me, other] = [await signUp(small.url), await signUp(small.url)]
  assert.is((await tusPost(small, me.token, 200_000, { sha256: anyHash() })).status, 201)
  assert.is((await tusPost(small, me.token, 200_000, { sha256: anyHash() })).status, 201)
  const refused = await tusPost(small, me.token, 200_000, { sha256: anyHash() })
  assert.is(refused.status, 429)
  assert.match(refused.json().error, /unfinished uploads may declare at most 500000 bytes per customer; yours declare 400000/)
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After')
  assert.is((await tusPost(small, me.token, 100_000, { sha256: anyHash() })).status, 201, 'up to the quota exactly')
  assert.is((await tusPost(small, other.token, 200_000, { sha256: anyHash() })).status, 201, 'another customer has a quota of their own')
})

test('an upload finished or deleted by its customer no longer counts against the quota', async () => {
  const me = await signUp(small.url)
  const bytes = await photo(200, 150)
  assert.ok(bytes.length < 100_000)
  const abandoned = await tusPost(small, me.token, 200_000, { sha256: anyHash() })
  assert.is((await tusPost(small, me.token, 200_000, { sha256: anyHash() })).status, 201)
  const real = await tusPost(small, me.token, bytes.length, { sha256: sha(bytes) })
  assert.is(real.status, 201)
  const justOver = QUOTA - 400_000 - bytes.length + 1
  assert.is((await tusPost(small, me.token, justOver, { sha256: anyHash() })).status, 429)

  const finish = await call(`${small.url}${real.headers.get('location')}`, {
    method: 'PATCH', headers: { ...tusHeaders(me.token), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: bytes,
  })
  assert.is(finish.status, 204)
  assert.is((await tusPost(small, me.token, justOver, { sha256: anyHash() })).status, 201, 'the finished upload gave its bytes back')

  assert.is((await tusPost(small, me.token, 200_000, { sha256: anyHash() })).status, 429)
  assert.is((await call(`${small.url}${abandoned.headers.get('location')}`, { method: 'DELETE', headers: tusHeaders(me.token) })).status, 204)
  assert.is((await tusPost(small, me.token, 200_000, { sha256: anyHash() })).status, 201, 'the deleted upload gave its bytes back')
})

test('unfinished uploads still count after a restart, until a day untouched: then the start-up sweep deletes them', async () => {
  let relay = await startRelay({ config: { ...DEMO_CONFIG, limits: { pendingUploadBytes: QUOTA } } })
  try {
    const me = await signUp(relay.url)
    const at = () => ({ url: relay.url }) as Running
    for (let i = 0; i < 2; i++) assert.is((await tusPost(at(), me.token, 200_000, { sha256: anyHash() })).status, 201)
    await relay.stop()
    relay = await relay.restart()
    assert.is((await tusPost(at(), me.token, 200_000, { sha256: anyHash() })).status, 429, 'counted again after the restart')

    await relay.stop()
    const uploads = join(relay.dataDir, 'uploads')
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000)
    for (const name of readdirSync(uploads)) utimesSync(join(uploads, name), twoDaysAgo, twoDaysAgo)
    relay = await relay.restart()
    assert.is((await tusPost(at(), me.token, 200_000, { sha256: anyHash() })).status, 201, 'the stale uploads were swept and count no more')
    assert.is(readdirSync(uploads).length, 2, 'only the new upload (data and .json) is left')
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

// ------------------------------------------------------------------ the module on its own

/** The images module alone behind a bare HTTP server, for what the relay does not wire yet. */
async function standalone(deps: Partial<ImagesDeps>, run: (url: string, parts: { accounts: Accounts; dataDir: string; images: Images }) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labsync-images-alone-'))
  const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
  const config = parseConfig(DEMO_CONFIG)
  const accounts = sqliteAccounts(db)
  mkdirSync(join(dataDir, 'uploads'))
  for (const [name, content] of Object.entries(seededUploads)) writeFileSync(join(dataDir, 'uploads', name), content)
  const images = createImages({ store: new SqliteImageStore(db, dataDir), dataDir, limits: config.limits, auth: new Authenticator(config, accounts), now: Date.now, ...deps })
  const server = createServer((req, res) => void images.handle(req, res, new URL(req.url!, 'http://relay')).catch((error) => sendError(res, error)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { accounts, dataDir, images })
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await images.close()
    db.close()
    removeDir(dataDir)
  }
}
/** An abandoned upload (data and its .json) that the start-up sweep finds. */
const ABANDONED = 'a'.repeat(32)
const seededUploads = { [ABANDONED]: 'half a photo', [`${ABANDONED}.json`]: '{}' }

test('a lab reads an image exactly when labMayRead says one of its orders uses it', async () => {
  const allowed = new Set<string>()
  const labMayRead = (labId: string, hash: string) => labId === 'demo-lab' && allowed.has(hash)
  await standalone({ labMayRead }, async (url, { accounts }) => {
    const me = await accounts.create('lab-test@example.test', 'correct horse battery', 'Customer')
    const { token } = await accounts.startSession(me!.userId)
    const bytes = await photo(60, 40)
    const hash = sha(bytes)
    assert.is((await call(`${url}/api/images/${hash}`, { method: 'PUT', headers: bearer(token), body: bytes })).status, 201)
    assert.is((await call(`${url}/api/images/${hash}`, { headers: bearer(LAB) })).status, 404, 'not before its order is assigned')
    allowed.add(hash)
    const read = await call(`${url}/api/images/${hash}`, { headers: bearer(LAB) })
    assert.is(read.status, 200)
    assert.ok(read.body.equals(bytes))
  })
})

test('unfinished uploads untouched for staleUploadMs are deleted, fresh ones kept', async () => {
  for (const [staleUploadMs, kept] of [[60_000, true], [-1, false]] as const) {
    await standalone({ staleUploadMs }, async (_url, { dataDir, images }) => {
      await images.close() // waits for the sweep made at start
      assert.is(existsSync(join(dataDir, 'uploads', ABANDONED)), kept)
      assert.is(existsSync(join(dataDir, 'uploads', `${ABANDONED}.json`)), kept)
    })
  }
})

test.run()
