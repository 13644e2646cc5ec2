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
import { MESSAGE_AUTH, MESSAGE_SYNC, updateMessage } from '../../relay/sync/room.ts'
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

function storedBytes(relay: RelayProcess, doc: string): number {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return (db.prepare('SELECT COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM doc_updates WHERE doc = ?').get(doc) as { bytes: number }).bytes
  } finally {
    db.close()
  }
}

test('a write that would take an order past its limit is refused in words, stored nowhere; smaller writes and the receipt still go in', async () => {
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

  // 1 KiB more does not fit: refused with a sentence, nothing stored, nobody sees it.
  const [tooMuch] = updatesOf(doc, () => doc.getMap('spec').set('more', 'm'.repeat(KiB)))
  writer.ws.send(updateMessage(tooMuch))
  await waitFor(() => writer.denials.length > 0, 'the refusal')
  assert.match(writer.denials[0], /this order is full: it holds .* of the 64\.0 KiB it may hold, and this change adds 1\.0 KiB/)
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
  assert.equal(denials, [])
  assert.ok(storedBytes(relay, room) > held, 'the submit and the receipt were stored')
})

test.run()
