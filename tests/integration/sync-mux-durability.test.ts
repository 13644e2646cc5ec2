// "Durable before acknowledged" on the multiplexed endpoint, as sync-durability.test.ts checks it
// for /sync/<room>: bursts of writes over many rooms on a few shared sockets, SIGKILL the moment
// the last one is echoed, and every echoed write is there after the restart.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { writeSpec } from '../../shared/schema.ts'
import { removeDir, signUp, startRelay, waitFor, newOrderId, type RelayProcess } from '../helpers/relay.ts'
import { openMux, settled, type RawMux } from './sync-mux-raw.ts'

let relay: RelayProcess
test.before(async () => { relay = await startRelay() })
test.after(async () => {
  await relay.stop()
  removeDir(relay.dataDir)
})

test('writes echoed in a burst over many rooms of three sockets all survive SIGKILL right after the last echo', async () => {
  const me = await signUp(relay.url)
  const writes = 40
  const orders = Array.from({ length: 9 }, () => `order/${newOrderId()}`)
  const sockets: RawMux[] = []
  // Three sockets, each on the user document and three orders: 12 rooms, the user document shared.
  for (let s = 0; s < 3; s++) {
    const socket = await openMux(relay.wsUrl, me.token)
    for (const room of [`user/${me.userId}`, ...orders.slice(s * 3, s * 3 + 3)]) socket.join(room)
    sockets.push(socket)
  }
  for (const socket of sockets) for (const room of socket.rooms.keys()) assert.is((await settled(socket, room)).closed, null)
  const stamp = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()
  for (let i = 0; i < writes; i++) {
    sockets.forEach((socket, s) => {
      for (const [name, room] of socket.rooms) {
        if (name.startsWith('user/')) room.doc.getMap('burst').set(`s${s}-${i}`, i)
        else if (i === 0) writeSpec(room.doc, { id: name.slice('order/'.length), user: me.userId, front: 'demo-store', createdAt: stamp(0), state: 'draft', items: [] })
        else room.doc.getMap('spec').set('createdAt', stamp(i))
      }
    })
    if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const rooms = sockets.flatMap((socket) => [...socket.rooms.values()])
  await waitFor(() => rooms.every((room) => room.echoed >= Y.getState(room.doc.store, room.doc.clientID)), 'every write echoed', 15_000)
  assert.ok(rooms.every((room) => room.denials.length === 0 && room.closed === null))
  await relay.kill()
  for (const socket of sockets) socket.ws.terminate()
  relay = await relay.restart()
  const reader = await openMux(relay.wsUrl, me.token)
  try {
    const user = reader.join(`user/${me.userId}`)
    for (const order of orders) reader.join(order)
    for (const room of reader.rooms.keys()) await settled(reader, room)
    assert.is(user.doc.getMap('burst').size, 3 * writes)
    for (const order of orders) assert.is(reader.rooms.get(order)!.doc.getMap('spec').get('createdAt'), stamp(writes - 1), order)
  } finally {
    reader.ws.terminate()
  }
})

test.run()
