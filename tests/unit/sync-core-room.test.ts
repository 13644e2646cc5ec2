// The sync core without a socket (as tldraw's TLSyncRoom is tested): a Room on the in-memory
// document store, driven by fake peers that speak the y-websocket messages of
// shared/sync-protocol.ts, each with its own Y.Doc. What the Room promises: peers converge, and a
// write the rights table refuses is neither applied, stored, nor sent on; its writer is told why.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import type { CloseEvent } from '../../shared/errors.ts'
import { parseRoom } from '../../shared/schema.ts'
import type { Principal } from '../../shared/rights.ts'
import { MemoryDocStorage, MemoryDocStore } from '../../storage/memory/doc-store.ts'
import { Room, type Peer } from '../../sync-server/room.ts'
import { Rooms } from '../../sync-server/rooms.ts'
import { permissionDeniedReason, readMessage } from '../../shared/sync-protocol.ts'

/** A device: its own copy, synced with the room only through messages. */
class FakePeer implements Peer {
  readonly awarenessIds = new Set<number>()
  readonly doc = new Y.Doc()
  readonly denials: string[] = []
  received = 0
  closedWith: CloseEvent | null = null

  constructor(readonly principal: Principal, private readonly room: Room) {
    // Local edits go to the room as updates; what came from the room does not go back.
    this.doc.on('update', (update: Uint8Array, origin: unknown) => { if (origin !== room) room.receiveUpdate(this, update) })
  }

  /** Joins as a stock client does: the room sends its step 1, the client sends its own. */
  connect(): void {
    this.room.join(this)
    this.room.answerStep1(this, Y.encodeStateVector(this.doc))
  }

  send(frame: Uint8Array): void {
    this.received++
    const message = readMessage(frame)
    switch (message.kind) {
      case 'sync-step1': // the room asks for what it lacks: the client's step 2
        this.room.receiveUpdate(this, Y.encodeStateAsUpdate(this.doc, message.stateVector))
        break
      case 'sync-step2':
      case 'sync-update':
        Y.applyUpdate(this.doc, message.update, this.room)
        break
      case 'auth': {
        const reason = permissionDeniedReason(message.payload)
        if (reason !== null) this.denials.push(reason)
        break
      }
    }
  }

  close(event: CloseEvent): void {
    this.closedWith = event
  }
}

async function roomOn(name: string, storage = new MemoryDocStorage()): Promise<Room> {
  return Room.load(parseRoom(name)!, { store: new MemoryDocStore(storage), hooks: {}, compactAfterUpdates: 500, maxRefusals: 20 })
}

const customer: Principal = { kind: 'user', userId: 'u1' }
const state = (doc: Y.Doc) => doc.getMap('profile').toJSON()

test('two devices of one customer converge through the room, both ways, and the room stores what they agreed', async () => {
  const storage = new MemoryDocStorage()
  const room = await roomOn('user/u1', storage)
  const phone = new FakePeer(customer, room)
  const tablet = new FakePeer(customer, room)
  phone.doc.getMap('profile').set('name', 'Aiko') // written before connecting: goes with its step 2
  phone.connect()
  tablet.connect()
  tablet.doc.getMap('profile').set('home', 'store-1')
  phone.doc.getMap('profile').set('phone', '090')
  await room.whenDurable() // the echo waits for this: once durable, every peer has been sent everything
  assert.equal(state(phone.doc), { name: 'Aiko', home: 'store-1', phone: '090' })
  assert.equal(state(tablet.doc), state(phone.doc))
  assert.equal(state(room.doc), state(phone.doc))
  const reloaded = await roomOn('user/u1', storage)
  assert.equal(state(reloaded.doc), state(phone.doc), 'what the room stored is what the devices have')
  assert.equal([phone.denials, tablet.denials], [[], []])
  for (const r of [room, reloaded]) r.destroy()
})

test('a write the rights table refuses is not applied, not stored, not sent to other peers; its writer is told why', async () => {
  const storage = new MemoryDocStorage()
  const room = await roomOn('catalog', storage)
  const writer = new FakePeer(customer, room)
  const reader = new FakePeer({ kind: 'user', userId: 'u2' }, room)
  writer.connect()
  reader.connect()
  await room.whenDurable()
  const readerReceived = reader.received
  writer.doc.getMap('catalog').set('currency', 'EUR')
  await room.whenDurable()
  assert.equal(writer.denials, ['write refused: the catalog is written by the relay only'])
  assert.is(room.doc.getMap('catalog').size, 0, 'not applied')
  assert.is(storage.docs.get('catalog'), undefined, 'not stored')
  assert.is(reader.received, readerReceived, 'nothing sent to the other peer')
  assert.is(reader.doc.getMap('catalog').size, 0)
  assert.is(writer.closedWith, null, 'one refusal does not cut the writer off')
  room.destroy()
})

test('rooms that unloaded leave nothing of theirs in the store\'s memory, compacted or not', async () => {
  const store = new MemoryDocStore(new MemoryDocStorage())
  const rooms = new Rooms({ store, hooks: {}, compactAfterUpdates: 500, maxRefusals: 20, idleUnloadMs: 1 })
  for (const [name, edits] of [['user/u1', 3], ['user/u2', 1]] as const) {
    const room = await rooms.get(parseRoom(name)!)
    const device = new FakePeer({ kind: 'user', userId: name.slice(5) }, room)
    device.connect()
    for (let i = 0; i < edits; i++) device.doc.getMap('profile').set(`k${i}`, i)
    await room.whenDurable()
    room.leave(device)
    rooms.released(room)
  }
  assert.is(store.remembered, 2)
  const deadline = Date.now() + 5_000
  while ((rooms.size > 0 || store.remembered > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.is(rooms.size, 0, 'both rooms unloaded')
  assert.is(store.remembered, 0, 'the store remembers no rows of documents nobody holds')
  await rooms.close()
})

test('a room whose load ends after the server closed is destroyed, not kept (its awareness timer would keep the process alive)', async () => {
  // A store whose load waits until the test lets it go, so close() runs while the room loads.
  let letLoad = () => {}
  const gate = new Promise<void>((resolve) => { letLoad = resolve })
  class SlowStore extends MemoryDocStore {
    override async load(doc: string): Promise<Uint8Array[]> { await gate; return super.load(doc) }
  }
  const rooms = new Rooms({ store: new SlowStore(), hooks: {}, compactAfterUpdates: 500, maxRefusals: 20, idleUnloadMs: 60_000 })
  const loading = rooms.get(parseRoom('user/late')!)
  await rooms.close()
  letLoad()
  const outcome = await loading.then(() => 'loaded', (error: Error) => error.message)
  assert.is(outcome, 'the server is shutting down')
  assert.is(rooms.size, 0)
})

test.run()
