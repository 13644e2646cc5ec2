// Photos in a cluster (three relay processes on a real PostgreSQL and Redis behind the shipped
// haproxy config): a photo PUT to relay A is served by relay B to its owner and to nobody else; a
// tus upload continues on any relay (its bytes wait in PostgreSQL), so the balancer's round-robin
// creation and path-pinned PATCHes meet, and an upload cut by SIGKILLing its relay mid-PATCH
// resumes through the balancer on another relay from what was committed, ending with the right
// bytes; nothing half-written is served; the upload quota holds across relays.
// (A lab's read through another relay waits for receptions in PostgreSQL: see the report of issue 18.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { CHUNK_BYTES } from '../../photos/partial-postgres.ts'
import { startCluster, type Cluster } from '../helpers/cluster.ts'
import { send, sendPart, type Answer } from '../helpers/cluster-http.ts'
import { poll } from '../helpers/cluster-load.ts'
import { sha256Hex, signUp } from '../helpers/relay.ts'

const MiB = 1024 * 1024
/** The quota is made small enough for two uploads declared on two relays to pass it together. */
const PENDING_CAP = 8 * MiB
const config = { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, pendingUploadBytes: PENDING_CAP } }

let cluster: Cluster | null = null
let db: pg.Pool | null = null
/** Started by the first test that asks (uvu 0.5 swallows an error thrown in test.before). */
async function setUp(): Promise<Cluster> {
  cluster ??= await startCluster({ config })
  db ??= new pg.Pool({ connectionString: cluster.store, max: 2 })
  return cluster
}
test.after(async () => {
  await db?.end()
  await cluster?.stop()
})

/** A JPEG of noise, ~2 MB: several tus chunks, and not compressible away. */
async function noisePhoto(seed: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default
  const pixels = Buffer.alloc(1600 * 1000 * 3)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    pixels[i] = x & 0xff
  }
  return sharp(pixels, { raw: { width: 1600, height: 1000, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const tusHeaders = (token: string) => ({ ...bearer(token), 'tus-resumable': '1.0.0' })
const through = (c: Cluster, path: string) => `${c.proxy.url}${path}`
const direct = (c: Cluster, i: number, path: string) => `${c.relays[i]!.url}${path}`
const relayIndex = (c: Cluster, name: string | undefined) => c.relays.findIndex((_relay, i) => c.nameOf(i) === name)

async function create(url: string, token: string, length: number, sha256: string, ca?: string): Promise<Answer & { location: string }> {
  const metadata = `sha256 ${Buffer.from(sha256).toString('base64')}`
  const answer = await send(url, { method: 'POST', ca, headers: { ...tusHeaders(token), 'upload-length': String(length), 'upload-metadata': metadata } })
  return { ...answer, location: String(answer.headers.location ?? '') }
}

function patch(url: string, token: string, offset: number, bytes: Uint8Array, ca?: string): Promise<Answer> {
  return send(url, { method: 'PATCH', ca, body: bytes, headers: { ...tusHeaders(token), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' } })
}

async function offsetOf(url: string, token: string, ca?: string): Promise<number> {
  const head = await send(url, { method: 'HEAD', ca, headers: tusHeaders(token) })
  assert.is(head.status, 200, `HEAD ${url}: ${head.status}`)
  return Number(head.headers['upload-offset'])
}

/**
 * The rest of an upload from `offset`, as tus-js-client does it: a 409 (a statement the dead relay
 * had sent committed after our HEAD) or a connection cut while the relay answered it means "ask
 * the offset again" (the bytes never interleave). Up to three tries.
 */
async function sendRest(url: string, token: string, bytes: Buffer, offset: number, ca: string): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const answer = await patch(url, token, offset, bytes.subarray(offset), ca).catch((error: Error) => error)
    if (!(answer instanceof Error) && answer.status !== 409) return answer
    if (attempt === 3) throw answer instanceof Error ? answer : new Error(`409 three times: ${answer.body}`)
    const again = await offsetOf(url, token, ca)
    console.log(`the PATCH from ${offset} was ${answer instanceof Error ? `cut (${answer.message})` : 'refused 409'}; the upload is at ${again}, resumed from there`)
    offset = again
  }
}

/** The offset PostgreSQL holds for an upload (null: no such upload): what survives any relay. */
async function storedOffset(id: string): Promise<number | null> {
  const { rows } = await db!.query<{ upload_offset: string }>('SELECT upload_offset FROM photo_uploads WHERE id = $1', [id])
  return rows[0] ? Number(rows[0].upload_offset) : null
}

test('a photo PUT to relay A is served by relay B to its owner, and to another customer as if it did not exist', async () => {
  const c = await setUp()
  const owner = await signUp(c.relays[0]!.url)
  const other = await signUp(c.relays[1]!.url)
  const bytes = await noisePhoto(1)
  const sha = sha256Hex(bytes)
  const put = await send(direct(c, 0, `/api/images/${sha}`), { method: 'PUT', body: bytes, headers: { ...bearer(owner.token), 'content-type': 'image/jpeg' } })
  assert.is(put.status, 201, put.body.toString())
  const read = await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(owner.token) })
  assert.is(read.status, 200, read.body.toString())
  assert.is(sha256Hex(read.body), sha, 'relay B served the bytes relay A received')
  assert.is((await send(direct(c, 2, `/api/images/${sha}`), { headers: bearer(other.token) })).status, 404)
  assert.is((await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(other.token) })).status, 404)
  assert.is((await send(direct(c, 1, `/api/images/${sha}`))).status, 401)
})

test('a tus upload created on one relay continues on each of the others, and its photo is stored whole', async () => {
  const c = await setUp()
  const me = await signUp(c.relays[0]!.url)
  const bytes = await noisePhoto(2)
  const sha = sha256Hex(bytes)
  const created = await create(direct(c, 0, '/api/uploads'), me.token, bytes.length, sha)
  assert.is(created.status, 201, created.body.toString())
  const third = Math.ceil(bytes.length / 3)
  for (const [i, start] of [[1, 0], [2, third], [0, 2 * third]]) {
    const answer = await patch(direct(c, i, created.location), me.token, start, bytes.subarray(start, start + third))
    assert.is(answer.status, 204, `PATCH on relay${i + 1}: ${answer.status} ${answer.body}`)
  }
  const read = await send(direct(c, 1, `/api/images/${sha}`), { headers: bearer(me.token) })
  assert.is(read.status, 200)
  assert.is(sha256Hex(read.body), sha)
  assert.is(await storedOffset(created.location.split('/').at(-1)!), null, 'the finished upload is gone from PostgreSQL')
})

test('a tus upload through the balancer whose relay is SIGKILLed mid-PATCH resumes on another relay with the right bytes', async () => {
  const c = await setUp()
  const ca = c.proxy.ca
  const me = await signUp(c.relays[0]!.url)
  const bytes = await noisePhoto(3)
  const sha = sha256Hex(bytes)
  const created = await create(through(c, '/api/uploads'), me.token, bytes.length, sha, ca)
  assert.is(created.status, 201, created.body.toString())
  const id = created.location.split('/').at(-1)!
  const uploadUrl = through(c, created.location)
  const first = await patch(uploadUrl, me.token, 0, bytes.subarray(0, 400_000), ca)
  assert.is(first.status, 204, `${first.status} ${first.body}`)
  const pinned = relayIndex(c, first.relay)
  assert.ok(pinned >= 0, `the PATCH names its relay (${first.relay})`)

  // The rest, cut part-way: the relay the path pins dies once it has committed some of it.
  const cut = sendPart(uploadUrl, { method: 'PATCH', ca, body: bytes.subarray(400_000), headers: { ...tusHeaders(me.token), 'upload-offset': '400000', 'content-type': 'application/offset+octet-stream' } }, 600_000)
  await poll(async () => ((await storedOffset(id)) ?? 0) > 400_000, 'a chunk of the cut PATCH committed', 15_000)
  await c.kill(pinned)
  await cut.done
  try {
    const resumeAt = await offsetOf(uploadUrl, me.token, ca)
    assert.ok(resumeAt > 400_000 && resumeAt < bytes.length, `the upload resumes from what was committed (${resumeAt})`)
    // Nothing half-written is served, by any relay.
    for (let i = 0; i < c.relays.length; i++) {
      if (c.relays[i]) assert.is((await send(direct(c, i, `/api/images/${sha}`), { headers: bearer(me.token) })).status, 404)
    }
    const rest = await sendRest(uploadUrl, me.token, bytes, resumeAt, ca)
    assert.is(rest.status, 204, `${rest.status} ${rest.body}`)
    assert.is.not(rest.relay, c.nameOf(pinned))
    assert.is(rest.headers['upload-image'], sha)
    const read = await send(through(c, `/api/images/${sha}`), { ca, headers: bearer(me.token) })
    assert.is(read.status, 200)
    assert.is(sha256Hex(read.body), sha, 'the stored photo has the bytes sent')
  } finally {
    await c.restart(pinned)
  }
})

test('a PATCH the client cuts keeps what arrived: the upload ends on another relay from there', async () => {
  const c = await setUp()
  const me = await signUp(c.relays[0]!.url)
  const bytes = await noisePhoto(4)
  const sha = sha256Hex(bytes)
  const created = await create(direct(c, 0, '/api/uploads'), me.token, bytes.length, sha)
  const id = created.location.split('/').at(-1)!
  // Every byte but the last few is sent to relay 2; the request stays open, then the client leaves.
  const cut = sendPart(direct(c, 1, created.location), { method: 'PATCH', body: bytes, headers: { ...tusHeaders(me.token), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' } }, bytes.length - 10)
  // Every whole chunk committed: the rest of what was sent waits in the relay's buffer.
  const sent = bytes.length - 10
  await poll(async () => ((await storedOffset(id)) ?? 0) > sent - CHUNK_BYTES, 'the whole chunks committed', 15_000)
  cut.leave() // the client goes away: what arrived is committed too, the upload is not complete
  await cut.done
  // The whole chunks were stored already; the tail is committed once the relay has read the end.
  // Waited for (PostgreSQL and another relay agreeing on every byte sent), then asserted: a relay
  // that dropped the tail leaves the offset at the last whole chunk.
  let offset: number | null = null
  await poll(async () => {
    const stored = await storedOffset(id)
    offset = stored !== null && stored === await offsetOf(direct(c, 2, created.location), me.token) ? stored : null
    return offset === sent
  }, 'the cut PATCH settled with every byte sent', 10_000).catch(() => {})
  assert.is(offset, sent, 'every byte that arrived was kept')
  const rest = await patch(direct(c, 2, created.location), me.token, sent, bytes.subarray(sent))
  assert.is(rest.status, 204)
  assert.is(rest.headers['upload-image'], sha)
})

test('the upload quota holds across relays: two uploads declared on two relays may not pass it together', async () => {
  const c = await setUp()
  const me = await signUp(c.relays[0]!.url)
  const declared = 5 * MiB // each under the 8 MiB cap, the two over it
  const a = await create(direct(c, 0, '/api/uploads'), me.token, declared, 'a'.repeat(64))
  assert.is(a.status, 201)
  const b = await create(direct(c, 1, '/api/uploads'), me.token, declared, 'b'.repeat(64))
  assert.is(b.status, 429, `${b.status} ${b.body}`)
  assert.ok(Number(b.headers['retry-after']) > 0)
  const removed = await send(direct(c, 2, a.location), { method: 'DELETE', headers: tusHeaders(me.token) })
  assert.is(removed.status, 204)
  assert.is((await create(direct(c, 1, '/api/uploads'), me.token, declared, 'b'.repeat(64))).status, 201, 'a deleted upload no longer counts, on any relay')
})

test.run()
