// The multiplexed sync endpoint (`/sync-mux`) against a real relay process: each room on the one
// socket gets the rights, quotas and close codes a socket of its own would, and a refused or
// malformed room leaves the others syncing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { Close } from '../../shared/errors.ts'
import { writeSpec } from '../../shared/schema.ts'
import { messageFrame } from '../../shared/mux-frames.ts'
import { MAX_ROOMS_PER_SOCKET } from '../../sync-server/mux-socket.ts'
import { newOrderId, removeDir, signUp, startRelay, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { openMux, settled, type RawMux } from './sync-mux-raw.ts'

let relay: RelayProcess
const sockets: RawMux[] = []
test.before(async () => {
  relay = await startRelay({ config: { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, socketsPerCustomer: 4 } } })
})
test.after.each(() => { for (const mux of sockets.splice(0)) mux.ws.terminate() })
test.after(async () => {
  await relay.kill()
  removeDir(relay.dataDir)
})

async function mux(token: string): Promise<RawMux> {
  const socket = await openMux(relay.wsUrl, token)
  sockets.push(socket)
  return socket
}

function draft(doc: Y.Doc, orderId: string, userId: string): void {
  writeSpec(doc, { id: orderId, user: userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [] })
}

test('a room the customer may not read is closed with 4403 on the socket; the others keep syncing', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const socket = await mux(me.token)
  const orderId = newOrderId()
  socket.join(`user/${me.userId}`)
  socket.join(`user/${other.userId}`)
  socket.join(`order/${orderId}`)
  const forbidden = await settled(socket, `user/${other.userId}`)
  assert.equal(forbidden.closed, Close.Forbidden)
  await settled(socket, `user/${me.userId}`)
  await socket.write(`user/${me.userId}`, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))
  await settled(socket, `order/${orderId}`)
  await socket.write(`order/${orderId}`, (doc) => draft(doc, orderId, me.userId))
  assert.is(socket.ws.readyState, socket.ws.OPEN)
  assert.is(socket.rooms.get(`user/${me.userId}`)!.closed, null)
})

test('a write outside the rights is refused in its room only, which stays open', async () => {
  const me = await signUp(relay.url)
  const socket = await mux(me.token)
  const orderId = newOrderId()
  socket.join(`order/${orderId}`)
  socket.join(`user/${me.userId}`)
  await settled(socket, `order/${orderId}`)
  await socket.write(`order/${orderId}`, (doc) => draft(doc, orderId, me.userId))
  socket.rooms.get(`order/${orderId}`)!.doc.getMap('receipt').set('status', 'accepted') // the relay's to write
  await waitFor(() => socket.rooms.get(`order/${orderId}`)!.denials.length > 0, 'the refusal')
  assert.match(socket.rooms.get(`order/${orderId}`)!.denials[0], /write refused/)
  assert.is(socket.rooms.get(`user/${me.userId}`)!.denials.length, 0)
  await socket.write(`user/${me.userId}`, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))
})

test('a write past the order\'s size limit is refused in that room, as on /sync/<room>', async () => {
  const me = await signUp(relay.url)
  const socket = await mux(me.token)
  const orderId = newOrderId()
  const order = socket.join(`order/${orderId}`)
  socket.join(`user/${me.userId}`)
  await settled(socket, `order/${orderId}`)
  await socket.write(`order/${orderId}`, (doc) => draft(doc, orderId, me.userId))
  order.doc.getMap('spec').set('front', 'x'.repeat(300 * 1024)) // orderDocBytes: 256 KiB
  await waitFor(() => order.denials.length > 0, 'the refusal')
  assert.match(order.denials[0], /this order is full/)
  await settled(socket, `user/${me.userId}`)
  await socket.write(`user/${me.userId}`, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))
})

test('another customer on their own socket sees a write only once it is stored, as on /sync/<room>', async () => {
  const me = await signUp(relay.url)
  const writer = await mux(me.token)
  const reader = await mux(me.token)
  writer.join(`user/${me.userId}`)
  const seen = reader.join(`user/${me.userId}`)
  await settled(writer, `user/${me.userId}`)
  await settled(reader, `user/${me.userId}`)
  await writer.write(`user/${me.userId}`, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))
  await waitFor(() => seen.doc.getMap('profile').get('homeFront') === 'demo-store', 'the other socket to hear it')
})

test('each room beyond the first counts as a socket of the customer: over the limit a join is closed with 4529, the others stay', async () => {
  const me = await signUp(relay.url)
  const socket = await mux(me.token) // socketsPerCustomer 4: this socket and its first room are one
  const orders = [newOrderId(), newOrderId(), newOrderId(), newOrderId(), newOrderId()]
  for (const id of orders.slice(0, 4)) socket.join(`order/${id}`)
  for (const id of orders.slice(0, 4)) assert.is((await settled(socket, `order/${id}`)).closed, null)
  socket.join(`order/${orders[4]}`)
  assert.equal((await settled(socket, `order/${orders[4]}`)).closed, Close.TooManySockets)
  // A second socket is over the limit too (four already held).
  const second = await openMux(relay.wsUrl, me.token)
  sockets.push(second)
  assert.is(await second.socketClosed, Close.TooManySockets.code)
  // Leaving a room gives its count back.
  socket.leave(`order/${orders[0]}`)
  socket.join(`order/${orders[4]}`)
  assert.is((await settled(socket, `order/${orders[4]}`)).closed, null)
  await socket.write(`order/${orders[1]}`, (doc) => draft(doc, orders[1], me.userId))
})

test(`a socket holds at most ${MAX_ROOMS_PER_SOCKET} rooms, whoever holds it (an admin here, whom no customer quota counts)`, async () => {
  const socket = await mux('demo-admin-token')
  const names = Array.from({ length: MAX_ROOMS_PER_SOCKET + 1 }, () => `order/${newOrderId()}`)
  for (const name of names) socket.join(name)
  for (const name of names.slice(0, -1)) assert.is((await settled(socket, name)).closed, null, name)
  assert.equal((await settled(socket, names.at(-1)!)).closed, Close.TooManySockets)
})

test('a frame that is not a mux frame closes the socket with 4400; a bad message inside one closes only its room', async () => {
  const me = await signUp(relay.url)
  const socket = await mux(me.token)
  socket.join(`user/${me.userId}`)
  const orderId = newOrderId()
  socket.join(`order/${orderId}`)
  await settled(socket, `user/${me.userId}`)
  await settled(socket, `order/${orderId}`)
  socket.sendRaw(messageFrame(`order/${orderId}`, new Uint8Array([0, 2, 200]))) // an update whose length runs past the end
  const order = socket.rooms.get(`order/${orderId}`)!
  assert.equal(await waitFor(() => order.closed, 'the order room to close'), Close.BadMessage)
  await socket.write(`user/${me.userId}`, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))

  for (const bad of [new Uint8Array([5, 0x75]), new Uint8Array([4, 0x75, 0x73, 0x65, 0x72, 99]), 'text']) {
    const broken = await mux(me.token)
    broken.sendRaw(bad)
    assert.is(await broken.socketClosed, Close.BadMessage.code, String(bad))
  }
})

test('a socket without a valid token is closed with 4401, as /sync/<room>', async () => {
  const socket = await mux('not-a-token')
  assert.is(await socket.socketClosed, Close.Unauthorized.code)
})

test.run()
