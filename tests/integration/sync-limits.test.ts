// What one customer may take of the relay's sync endpoint (issue 13, points 3 and 9): bytes per
// document, messages and bytes per second, sockets, and bytes buffered for a reader that does not
// read. Against a real relay process with small limits, over real sockets on 127.0.0.1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import Database from 'better-sqlite3'
import { connect as tcpConnect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { MESSAGE_AUTH, MESSAGE_SYNC, updateMessage } from '../../shared/sync-protocol.ts'
import { Close } from '../../shared/errors.ts'
import { writeSpec } from '../../shared/schema.ts'
import {
  connect, makePhoto, newOrderId, permissionDenials, removeDir, signUp, startRelay, synced, uploadPhoto, waitFor,
  type RelayProcess,
} from '../helpers/relay.ts'

const KiB = 1024
const MiB = 1024 * KiB

const relays: RelayProcess[] = []
const cleanups: Array<() => void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  for (const relay of relays.splice(0)) {
    await relay.kill() // a failed test still leaves nothing running
    removeDir(relay.dataDir)
  }
})

async function relayWith(limits: Record<string, number>): Promise<RelayProcess> {
  const relay = await startRelay({ config: { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...limits } } })
  relays.push(relay)
  return relay
}

/** A raw y-websocket client: sends updates it is given, keeps every echo and refusal it receives. */
interface RawClient {
  ws: WebSocket
  echoes: Uint8Array[]
  denials: string[]
  closed: Promise<number>
  /** Sends one update and resolves once the relay echoed it (stored). */
  write(update: Uint8Array): Promise<void>
}

async function openRaw(relay: RelayProcess, room: string, token: string): Promise<RawClient> {
  const ws = new WebSocket(`${relay.wsUrl}/sync/${encodeURIComponent(room)}`, { headers: { authorization: `Bearer ${token}` } })
  cleanups.push(() => ws.terminate())
  const client: RawClient = {
    ws,
    echoes: [],
    denials: [],
    closed: new Promise((resolve) => ws.once('close', (code) => resolve(code))),
    async write(update) {
      const before = client.echoes.length
      ws.send(updateMessage(update))
      await waitFor(() => client.echoes.slice(before).some((echo) => Buffer.from(echo).equals(Buffer.from(update))), 'the echo of a write')
    },
  }
  ws.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    const type = decoding.readVarUint(decoder)
    if (type === MESSAGE_SYNC && decoding.readVarUint(decoder) === syncProtocol.messageYjsUpdate) client.echoes.push(decoding.readVarUint8Array(decoder))
    if (type === MESSAGE_AUTH) {
      decoding.readVarUint(decoder) // permission denied
      client.denials.push(decoding.readVarString(decoder))
    }
  })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); ws.once('close', resolve) })
  return client
}

/** The updates a local document emits for `change`, one per transaction. */
function updatesOf(doc: Y.Doc, change: () => void): Uint8Array[] {
  const updates: Uint8Array[] = []
  const keep = (update: Uint8Array) => updates.push(update)
  doc.on('update', keep)
  change()
  doc.off('update', keep)
  return updates
}

/** `promise`, or a failure naming `what` after `ms` (uvu has no per-test timeout). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms) })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

function storedBytes(relay: RelayProcess, doc: string): number {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return (db.prepare('SELECT COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM doc_updates WHERE doc = ?').get(doc) as { bytes: number }).bytes
  } finally {
    db.close()
  }
}

test('a write that would take an order past its limit is refused in words, stored nowhere; smaller writes, the receipt and a cancel still go in', async () => {
  const limit = 64 * KiB
  const relay = await relayWith({ orderDocBytes: limit, userDocBytes: limit, socketBufferBytes: 2 * limit })
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(7))
  const orderId = newOrderId()
  const room = `order/${orderId}`

  // A draft filled to within 200 bytes of the limit, each write acknowledged.
  const doc = new Y.Doc()
  const writer = await openRaw(relay, room, me.token)
  const [draft] = updatesOf(doc, () => writeSpec(doc, { id: orderId, user: me.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [{ image: photo, product: 'L', qty: 1 }] }))
  await writer.write(draft)
  // A map entry holding a string costs the string and a few dozen bytes around it.
  const [filler] = updatesOf(doc, () => doc.getMap('spec').set('note', 'n'.repeat(limit - 200 - draft.length - 40)))
  await writer.write(filler)
  const held = storedBytes(relay, room)
  assert.ok(held <= limit && held > limit - 400, `the draft holds ${held} bytes, just under the ${limit} limit`)

  // 4 KiB more does not fit: refused with a sentence, nothing stored, nobody sees it.
  const [tooMuch] = updatesOf(doc, () => doc.getMap('spec').set('more', 'm'.repeat(4 * KiB)))
  writer.ws.send(updateMessage(tooMuch))
  await waitFor(() => writer.denials.length > 0, 'the refusal')
  assert.match(writer.denials[0], /this order is full: it holds .* of the 64\.0 KiB it may hold, and this change adds 4\.0 KiB/)
  assert.is(storedBytes(relay, room), held, 'nothing of the refused write was stored')

  // Another device (a fresh copy) still writes small changes, and submits; the relay's receipt
  // takes the order past the customer's limit, which does not bind the relay.
  const { doc: other, provider } = connect(relay, room, me.token)
  cleanups.push(() => provider.destroy())
  const denials = permissionDenials(provider)
  await synced(provider)
  assert.is(other.getMap('spec').get('more'), undefined, 'the refused change reached no one')
  other.getMap('spec').set('state', 'submitted')
  const status = await waitFor(() => other.getMap('receipt').get('status') as string | undefined, 'the receipt', 15_000)
  assert.ok(status, `the relay wrote its receipt (${status})`)
  assert.ok(storedBytes(relay, room) > limit, `the receipt took the order past the customer's limit (${storedBytes(relay, room)} bytes)`)

  // The customer can still cancel the full order.
  other.getMap('spec').set('state', 'cancelled')
  const { doc: check, provider: checker } = connect(relay, room, me.token)
  cleanups.push(() => checker.destroy())
  await waitFor(() => check.getMap('spec').get('state') === 'cancelled' || null, 'the cancel stored', 10_000)
  assert.equal(denials, [])
})

test('deleting from a full document makes room: the next write that fits what is left is accepted', async () => {
  const limit = 64 * KiB
  const relay = await relayWith({ orderDocBytes: limit, userDocBytes: limit, socketBufferBytes: 2 * limit })
  const me = await signUp(relay.url)
  const room = `user/${me.userId}`
  const client = await openRaw(relay, room, me.token)
  const doc = new Y.Doc()
  const [filler] = updatesOf(doc, () => doc.getMap('drafts').set('old', 'o'.repeat(limit - KiB)))
  await client.write(filler)
  const [removal] = updatesOf(doc, () => doc.getMap('drafts').delete('old'))
  await client.write(removal)
  // The log still holds the deleted string; the document itself no longer does.
  const [fresh] = updatesOf(doc, () => doc.getMap('drafts').set('new', 'n'.repeat(limit / 2)))
  await client.write(fresh)
  assert.equal(client.denials, [])
  assert.ok(storedBytes(relay, room) < limit, `the stored document (${storedBytes(relay, room)} bytes) was compacted under its limit`)
})

test('a customer sending too fast is slowed, not refused: every write acknowledged, in order; another customer is not slowed', async () => {
  // 160 KiB of burst, then 16 KiB/s: 60 writes of 4 KiB run ~80 KiB past the burst, ~5 s of waiting.
  const relay = await relayWith({ writesPerSecond: 20, writeBytesPerSecond: 16 * KiB })
  const [flooder, neighbour] = await Promise.all([signUp(relay.url), signUp(relay.url)])
  const flood = await openRaw(relay, `user/${flooder.userId}`, flooder.token)
  const calm = await openRaw(relay, `user/${neighbour.userId}`, neighbour.token)

  const doc = new Y.Doc()
  const sent = updatesOf(doc, () => { for (let i = 0; i < 60; i++) doc.getMap('drafts').set(`d${i}`, String(i).padEnd(4 * KiB, '.')) })
  for (const update of sent) flood.ws.send(updateMessage(update))
  // Past its burst the flooder's socket is no longer read: its echoes stop short for a while.
  await waitFor(() => flood.echoes.length >= 30, 'the burst of the flood')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const duringPause = flood.echoes.length
  assert.ok(duringPause < sent.length, `the flooder was slowed (${duringPause} of ${sent.length} echoed at once)`)

  // Meanwhile the neighbour's writes are stored and echoed as usual.
  const own = new Y.Doc()
  for (let i = 0; i < 10; i++) {
    const started = Date.now()
    const [update] = updatesOf(own, () => own.getMap('drafts').set(`n${i}`, i))
    await calm.write(update)
    assert.ok(Date.now() - started < 1_000, `the neighbour's write ${i} took ${Date.now() - started} ms`)
    if (i === 0) assert.ok(flood.echoes.length < sent.length, 'the neighbour was served while the flooder waited')
  }

  // The flood ends complete: nothing refused or lost, in the order sent, the socket still open.
  await waitFor(() => flood.echoes.length >= sent.length, 'every write of the flood', 20_000)
  assert.equal(flood.echoes.map((echo) => Buffer.from(echo).toString('hex')), sent.map((update) => Buffer.from(update).toString('hex')))
  assert.equal(flood.denials, [])
  assert.is(flood.ws.readyState, WebSocket.OPEN)
  const { doc: check, provider } = connect(relay, `user/${flooder.userId}`, flooder.token)
  cleanups.push(() => provider.destroy())
  await synced(provider)
  assert.is(check.getMap('drafts').size, sent.length, 'every write is in the stored document')
})

test('a customer gets as many sockets as the limit allows; one more is closed with 4529 (retry later) until one closes', async () => {
  const relay = await relayWith({ socketsPerCustomer: 4 })
  const [me, someoneElse] = await Promise.all([signUp(relay.url), signUp(relay.url)])
  const rooms = [`user/${me.userId}`, 'catalog', `user/${me.userId}`, 'catalog']
  const mine = await Promise.all(rooms.map((room) => openRaw(relay, room, me.token)))
  for (const socket of mine) assert.is(socket.ws.readyState, WebSocket.OPEN)

  const fifth = await openRaw(relay, 'catalog', me.token)
  assert.is(await within(fifth.closed, 5_000, 'close of the fifth socket'), Close.TooManySockets.code)
  const theirs = await openRaw(relay, 'catalog', someoneElse.token)
  assert.is(theirs.ws.readyState, WebSocket.OPEN, "another customer's sockets are counted apart")

  // A socket that closed no longer counts.
  mine[0].ws.close()
  await within(mine[0].closed, 5_000, 'close')
  const again = await openRaw(relay, `user/${me.userId}`, me.token)
  const doc = new Y.Doc()
  const [write] = updatesOf(doc, () => doc.getMap('drafts').set('a', 1))
  await again.write(write)
  assert.is(again.ws.readyState, WebSocket.OPEN)
})

/**
 * A reader that never reads, as in the issue: a raw TCP connection that does the WebSocket
 * handshake by hand, asks for the whole document `asks` times and never reads a byte.
 */
async function stalledReader(relay: RelayProcess, room: string, token: string, asks: number): Promise<{ socket: Socket; ended: Promise<void> }> {
  const { port } = new URL(relay.url)
  const socket = tcpConnect(Number(port), '127.0.0.1')
  cleanups.push(() => socket.destroy())
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const ended = new Promise<void>((resolve) => { socket.once('close', () => resolve()); socket.on('error', () => undefined) })
  socket.write([
    `GET /sync/${encodeURIComponent(room)} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${token}`, '', '',
  ].join('\r\n'))
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(encoder, new Y.Doc()) // an empty state vector: send me everything
  const step1 = encoding.toUint8Array(encoder)
  for (let i = 0; i < asks; i++) socket.write(maskedFrame(step1))
  return { socket, ended }
}

/** A binary WebSocket frame as a client sends it (masked). */
function maskedFrame(payload: Uint8Array): Buffer {
  if (payload.length >= 126) throw new Error('only short frames here')
  const mask = randomBytes(4)
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]))
  return Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, body])
}

function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * KiB
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}

test('readers that never read are cut (4508) as soon as their buffer passes the limit, and the relay\'s memory stays bounded', async () => {
  const bufferLimit = 2 * MiB
  const relay = await relayWith({ userDocBytes: MiB, orderDocBytes: MiB, socketBufferBytes: bufferLimit, writesPerSecond: 10_000 })
  const me = await signUp(relay.url)
  const room = `user/${me.userId}`
  // The customer's own document, filled to just under its limit.
  const writer = await openRaw(relay, room, me.token)
  const doc = new Y.Doc()
  const [filler] = updatesOf(doc, () => doc.getMap('profile').set('filler', 'f'.repeat(MiB - 4 * KiB)))
  await writer.write(filler)
  writer.ws.close()

  const sockets = 20
  const asks = 30 // 30 copies of a 1 MiB document each: 600 MiB if the relay held them all
  const before = memoryOf(relay.process.pid!)
  const readers = await Promise.all(Array.from({ length: sockets }, () => stalledReader(relay, room, me.token, asks)))
  const cuts = () => (relay.output().match(/closed with 4508/g) ?? []).length
  await waitFor(() => cuts() >= sockets, `all ${sockets} stalled readers cut`, 5_000)
  const after = memoryOf(relay.process.pid!)
  const grew = after.peak - before.rss
  console.log(`relay RSS ${(before.rss / MiB).toFixed(0)} MiB before, peak ${(after.peak / MiB).toFixed(0)} MiB, ${(after.rss / MiB).toFixed(0)} MiB after the cut`)
  // Each socket may hold its limit plus the answer that passed it, at most; without the cut it would be 30 MiB each.
  assert.ok(grew < sockets * (bufferLimit + MiB) + 64 * MiB, `relay memory grew by ${(grew / MiB).toFixed(0)} MiB`)

  // The connections are gone: read what the kernel still holds, then the end of the stream.
  for (const { socket } of readers) socket.on('data', () => undefined)
  await within(Promise.all(readers.map(({ ended }) => ended)), 10_000, 'end of the stalled connections')
  // The document and the relay still serve a reader that reads.
  const { doc: copy, provider } = connect(relay, room, me.token)
  cleanups.push(() => provider.destroy())
  await synced(provider)
  assert.is((copy.getMap('profile').get('filler') as string).length, MiB - 4 * KiB)
})

test.run()
