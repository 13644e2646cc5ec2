// The sync core's fan-out without Redis: two Rooms registries (two relays) on one shared memory
// storage, meeting in a LocalHub. What one stores reaches the other's peers and is stored once; a
// LocalFanout alone (one relay) tells nobody.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { MemoryDocStorage, MemoryDocStore } from '../../storage/memory/doc-store.ts'
import { LocalFanout, LocalHub, type Fanout } from '../../sync-server/fanout/fanout.ts'
import { Rooms } from '../../sync-server/rooms.ts'
import type { Peer } from '../../sync-server/room.ts'
import { readMessage } from '../../shared/sync-protocol.ts'

const ROOM = { kind: 'user', name: 'user/u1', userId: 'u1' } as const

function relay(storage: MemoryDocStorage, fanout: Fanout): Rooms {
  return new Rooms({ store: new MemoryDocStore(storage), fanout, hooks: {}, compactAfterUpdates: 1_000, maxRefusals: 20, idleUnloadMs: 60_000 })
}

/** A peer that keeps the updates it is sent, and wakes whoever waits for the next one. */
function peer(): Peer & { updates: Uint8Array[]; next(): Promise<void> } {
  let wake = () => {}
  const updates: Uint8Array[] = []
  return {
    principal: { kind: 'user', userId: 'u1' }, awarenessIds: new Set(), updates,
    send(frame) {
      const message = readMessage(frame)
      if (message.kind === 'sync-update') { updates.push(message.update); wake() }
    },
    close() {},
    next: () => new Promise<void>((resolve) => { wake = resolve }),
  }
}

function setKey(key: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('m').set(key, 1)
  return Y.encodeStateAsUpdate(doc)
}

test('a write stored on one relay reaches the other relay\'s peers, and is stored once', async () => {
  const storage = new MemoryDocStorage()
  const hub = new LocalHub()
  const [a, b] = [relay(storage, new LocalFanout(hub)), relay(storage, new LocalFanout(hub))]
  const [roomA, roomB] = [await a.get(ROOM), await b.get(ROOM)]
  const [onA, onB] = [peer(), peer()]
  roomA.join(onA); roomB.join(onB)
  const arrived = onB.next()
  roomA.receiveUpdate(onA, setKey('x'))
  await roomA.whenDurable()
  await arrived
  assert.equal(roomB.doc.getMap('m').toJSON(), { x: 1 })
  assert.is(storage.docs.get('user/u1')!.length, 1, 'B stored nothing of it (and so published nothing back)')
  await a.close(); await b.close()
})

test('a LocalFanout alone (one relay) delivers to nobody', async () => {
  const storage = new MemoryDocStorage()
  const [a, b] = [relay(storage, new LocalFanout()), relay(storage, new LocalFanout())]
  const [roomA, roomB] = [await a.get(ROOM), await b.get(ROOM)]
  const onA = peer()
  roomA.join(onA)
  roomA.receiveUpdate(onA, setKey('x'))
  await roomA.whenDurable()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(roomB.doc.getMap('m').toJSON(), {}, 'not in one hub: B hears nothing')
  await a.close(); await b.close()
})

test('presence goes to the other relays of the room, asks are answered as null, nothing comes back to its sender or after unsubscribing', async () => {
  const hub = new LocalHub()
  const [a, b] = [new LocalFanout(hub), new LocalFanout(hub)]
  const heard: Record<'a' | 'b', Array<number[] | null>> = { a: [], b: [] }
  const stopA = await a.subscribe('order/o1', () => {}, (update) => heard.a.push(update && [...update]))
  const stopB = await b.subscribe('order/o1', () => {}, (update) => heard.b.push(update && [...update]))
  await b.subscribe('order/o2', () => {}, () => heard.b.push([99]))
  a.publishAwareness('order/o1', new Uint8Array([1, 2, 3]))
  a.askAwareness('order/o1')
  b.publishAwareness('order/o1', new Uint8Array([4]))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(heard, { a: [[4]], b: [[1, 2, 3], null] })
  stopA(); stopB()
  b.publishAwareness('order/o1', new Uint8Array([5]))
  a.askAwareness('order/o1')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(heard, { a: [[4]], b: [[1, 2, 3], null] }, 'unsubscribed: nothing more')
  await a.close(); await b.close()
})

test.run()
