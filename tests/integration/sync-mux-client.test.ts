// The app's client of the multiplexed endpoint (web/src/sync/mux-client.ts, mux-room.ts) in Node
// against a real relay process: many documents over one socket, a refused room stopping alone,
// and reconnection after the relay restarts, with what was written offline sent then.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket, { WebSocketServer } from 'ws'
import type { AddressInfo } from 'node:net'
import { Close } from '../../shared/errors.ts'
import { MuxConnection } from '../../web/src/sync/mux-client.ts'
import { MuxRoom } from '../../web/src/sync/mux-room.ts'
import { connect, removeDir, signUp, startRelay, synced, waitFor, type RelayProcess } from '../helpers/relay.ts'

let relay: RelayProcess
const rooms: MuxRoom[] = []
test.before(async () => { relay = await startRelay() })
test.after.each(() => { for (const room of rooms.splice(0)) room.destroy() })
test.after(async () => {
  await relay.kill()
  removeDir(relay.dataDir)
})

const Polyfill = WebSocket as unknown as typeof globalThis.WebSocket

function room(name: string, connection: MuxConnection, doc = new Y.Doc()): MuxRoom {
  const made = new MuxRoom(name, doc, connection)
  rooms.push(made)
  made.start()
  return made
}

/** Waits until a stock client of the customer's document at the relay reads `homeFront` there. */
async function relayHas(me: { userId: string; token: string }, homeFront: string): Promise<void> {
  const reader = connect(relay, `user/${me.userId}`, me.token)
  try {
    await synced(reader.provider)
    await waitFor(() => reader.doc.getMap('profile').get('homeFront') === homeFront, `homeFront ${homeFront} at the relay`)
  } finally {
    reader.provider.destroy()
  }
}

test('the catalog, a user document and a forbidden one on one socket: the forbidden one stops with 4403, the others sync', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const opened: string[] = []
  class Counting extends WebSocket { constructor(url: string) { super(url); opened.push(url) } }
  const connection = new MuxConnection(`${relay.wsUrl}/sync-mux`, me.token, { WebSocketPolyfill: Counting as unknown as typeof globalThis.WebSocket })
  const catalog = room('catalog', connection)
  const mine = room(`user/${me.userId}`, connection)
  const theirs = room(`user/${other.userId}`, connection)
  const closed: Array<{ code: number }> = []
  theirs.on('closed', (event) => closed.push(event))
  await waitFor(() => catalog.synced && mine.synced && closed.length > 0, 'two rooms synced, one closed')
  assert.is(closed[0].code, Close.Forbidden.code)
  assert.is(theirs.status, 'offline')
  assert.ok(catalog.doc.getMap('catalog').get('products'))
  assert.is(opened.length, 1)
  // A change made here reaches a stock client of the same document.
  mine.doc.getMap('profile').set('homeFront', 'demo-store')
  await relayHas(me, 'demo-store')
})

test('after the relay restarts, the socket comes back by itself and sends what was written meanwhile', async () => {
  const me = await signUp(relay.url)
  const connection = new MuxConnection(`${relay.wsUrl}/sync-mux`, me.token, { WebSocketPolyfill: Polyfill, maxBackoffTime: 200 })
  const mine = room(`user/${me.userId}`, connection)
  await waitFor(() => mine.synced, 'sync')
  await relay.stop()
  await waitFor(() => mine.status !== 'connected', 'the room to notice')
  mine.doc.getMap('profile').set('homeFront', 'offline-edit')
  relay = await relay.restart()
  await waitFor(() => mine.synced, 'sync again', 10_000)
  await relayHas(me, 'offline-edit')
})

// The client asks after a third of the silence and must hear back within the rest: 1 s leaves a loaded
// machine room (with 300 ms, three test files at once on 2 cores saw a needless reconnection).
const SILENCE_MS = 1_000

test('a socket that brings nothing for the silence allowed is opened again; the relay, asked, keeps one alive', async () => {
  const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  let accepted = 0
  silent.on('connection', () => { accepted++ })
  await new Promise((resolve) => silent.once('listening', resolve))
  const me = await signUp(relay.url)
  const opened: string[] = []
  class Counting extends WebSocket { constructor(url: string) { super(url); opened.push(url) } }
  const options = { WebSocketPolyfill: Counting as unknown as typeof globalThis.WebSocket, silenceMs: SILENCE_MS, maxBackoffTime: 100 }
  try {
    const dead = new MuxConnection(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/sync-mux`, me.token, options)
    const deadRoom = room(`user/${me.userId}`, dead)
    await waitFor(() => accepted >= 3, 'two reconnections to the silent server', 10_000)
    deadRoom.destroy()
    const live = new MuxConnection(`${relay.wsUrl}/sync-mux`, me.token, options)
    const mine = room(`user/${me.userId}`, live)
    await waitFor(() => mine.synced, 'sync')
    const before = opened.length
    await new Promise((resolve) => setTimeout(resolve, 3 * SILENCE_MS))
    assert.is(opened.length, before, 'no reconnection to the relay, which answers')
    assert.is(live.status, 'connected')
  } finally {
    for (const room of rooms.splice(0)) room.destroy()
    silent.close()
  }
})

test('the socket closes with its last room, and a room left is no longer fed', async () => {
  const me = await signUp(relay.url)
  const connection = new MuxConnection(`${relay.wsUrl}/sync-mux`, me.token, { WebSocketPolyfill: Polyfill })
  const a = room(`user/${me.userId}`, connection)
  const b = room('catalog', connection)
  await waitFor(() => a.synced && b.synced, 'both synced')
  b.stop()
  assert.is(connection.status, 'connected')
  a.stop()
  assert.is(connection.status, 'offline')
})

test.run()
