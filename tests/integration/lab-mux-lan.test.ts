// The store's side of one socket per device (issue 19 point 3): a phone in the store syncs all
// its documents with the lab node's in-store server over one `/sync-mux` socket, with the same
// rights as on `/sync/<room>`, and the lab node passes them on to the relay over one socket per
// customer (plus its own one for the lab and one for the in-store catalog). A real relay and lab
// node process; the app's own mux client; a proxy counting the lab node's sockets at the relay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { Close } from '../../shared/errors.ts'
import { writeSpec } from '../../shared/schema.ts'
import { MuxConnection } from '../../web/src/sync/mux-client.ts'
import { MuxRoom } from '../../web/src/sync/mux-room.ts'
import { connect, newOrderId, removeDir, signUp, startRelay, synced, tempDir, waitFor } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, startLab } from '../helpers/lab.ts'
import { startCountingProxy, until } from './lab-mux-proxy.ts'

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const ORDERS = 3

test('two phones in the store, each on one socket with its user document and 3 orders: a forbidden room is closed with 4403, the rest reach the relay over one socket per customer', async () => {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  const prints = tempDir('labsync-mux-prints-')
  cleanups.push(async () => { await relay.kill(); removeDir(relay.dataDir); removeDir(prints) })
  const proxy = await startCountingProxy(Number(new URL(relay.url).port))
  cleanups.push(() => proxy.close())
  const lab = await startLab({ relayUrl: proxy.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, listen: '127.0.0.1:0' })
  cleanups.push(async () => { await lab.kill(); removeDir(lab.dataDir) })
  await until(async () => ((await (await fetch(`${lab.lanUrl}/healthz`)).json()) as { catalog: boolean }).catalog, 'the in-store server to have the catalog', 15_000)
  const labOwn = proxy.openSockets().length

  const opened: string[] = []
  class Counting extends WebSocket { constructor(url: string) { super(url); opened.push(url.split('?')[0]) } }
  const customers = [await signUp(relay.url), await signUp(relay.url)]
  const phones = customers.map((me) => {
    const connection = new MuxConnection(`${lab.lanUrl!.replace(/^http/, 'ws')}/sync-mux`, me.token, { WebSocketPolyfill: Counting as unknown as typeof globalThis.WebSocket })
    const orders = Array.from({ length: ORDERS }, () => newOrderId())
    const rooms = [`user/${me.userId}`, ...orders.map((id) => `order/${id}`)].map((name) => {
      const room = new MuxRoom(name, new Y.Doc(), connection)
      cleanups.push(() => room.destroy())
      room.start()
      return room
    })
    return { me, connection, orders, rooms }
  })
  await waitFor(() => phones.every((phone) => phone.rooms.every((room) => room.synced)), 'every room synced with the in-store server', 15_000)
  for (const { me, orders, rooms } of phones) {
    rooms[0].doc.getMap('profile').set('homeFront', 'store-1')
    orders.forEach((id, i) => writeSpec(rooms[i + 1].doc, { id, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: [] }))
  }

  // The same rights as /sync/<room>: another customer's order is closed on the socket, the others stay.
  const [first, second] = phones
  await waitFor(() => second.rooms.every((room) => room.doc.getMap('spec').size > 0 || room.name.startsWith('user/')), 'the second customer\'s drafts in the store')
  const theirs = new MuxRoom(`order/${second.orders[0]}`, new Y.Doc(), first.connection)
  cleanups.push(() => theirs.destroy())
  const closed: Array<{ code: number }> = []
  theirs.on('closed', (event) => closed.push(event))
  theirs.start()
  await waitFor(() => closed.length > 0, 'the forbidden room closed')
  assert.is(closed[0].code, Close.Forbidden.code)
  assert.ok(first.rooms.every((room) => room.status === 'connected'), 'the phone\'s other rooms stay')

  // Everything reaches the relay: each draft, read there by its customer.
  for (const { me, orders } of phones) {
    for (const id of orders) {
      const atRelay = connect(relay, `order/${id}`, me.token)
      cleanups.push(() => atRelay.provider.destroy())
      await synced(atRelay.provider, 10_000)
      // Generous: the forwarder's backoff on a loaded machine. On a timeout, both processes' logs.
      await waitFor(() => atRelay.doc.getMap('spec').get('id') === id, `order ${id} at the relay`, 45_000)
        .catch((error: Error) => { throw new Error(`${error.message}\n--- lab node:\n${lab.output().slice(-6_000)}\n--- relay:\n${relay.output().slice(-4_000)}`) })
    }
  }
  assert.equal(opened, phones.map(() => `${lab.lanUrl!.replace(/^http/, 'ws')}/sync-mux`), 'one in-store socket per phone')
  const sockets = proxy.openSockets()
  assert.ok(sockets.every((path) => path === '/sync-mux'), `only mux sockets at the relay: ${sockets.join(', ')}`)
  assert.is(sockets.length, labOwn + customers.length, `the lab node's own ${labOwn} and one per customer, not one per document (${sockets.length})`)
})

test('an order two customers joined in the store before its owner\'s first write arrived still reaches the relay as its owner\'s', async () => {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  const prints = tempDir('labsync-mux-prints-')
  cleanups.push(async () => { await relay.kill(); removeDir(relay.dataDir); removeDir(prints) })
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, listen: '127.0.0.1:0' })
  cleanups.push(async () => { await lab.kill(); removeDir(lab.dataDir) })
  await until(async () => ((await (await fetch(`${lab.lanUrl}/healthz`)).json()) as { catalog: boolean }).catalog, 'the in-store server to have the catalog', 15_000)
  const [owner, other] = [await signUp(relay.url), await signUp(relay.url)]
  const id = newOrderId()
  const join = (me: { token: string }) => {
    const connection = new MuxConnection(`${lab.lanUrl!.replace(/^http/, 'ws')}/sync-mux`, me.token, { WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
    const room = new MuxRoom(`order/${id}`, new Y.Doc(), connection)
    cleanups.push(() => room.destroy())
    room.start()
    return room
  }
  // Both join the empty order; the lab node links it to the relay for each in turn (the second
  // link replaces the first: nobody owns it yet).
  const linked = () => lab.output().split(`order/${id} linked to the relay`).length - 1
  const mine = join(owner)
  await waitFor(() => (mine.synced && linked() >= 1) || null, 'the owner\'s room in the store, linked to the relay', 15_000)
  const theirs = join(other)
  await waitFor(() => (theirs.synced && linked() >= 2) || null, 'the other customer\'s room in the store, linked in its turn', 15_000)

  writeSpec(mine.doc, { id, user: owner.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: [] })
  const atRelay = connect(relay, `order/${id}`, owner.token)
  cleanups.push(() => atRelay.provider.destroy())
  await synced(atRelay.provider, 10_000)
  await waitFor(() => atRelay.doc.getMap('spec').get('id') === id, 'the order at the relay, as its owner\'s', 20_000)
    .catch((error: Error) => { throw new Error(`${error.message}\n--- lab node:\n${lab.output().slice(-4_000)}`) })
  assert.is(atRelay.doc.getMap('spec').get('user'), owner.userId)
})

test.run()
