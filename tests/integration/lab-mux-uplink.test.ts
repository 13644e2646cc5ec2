// The lab node's client of the relay's `/sync-mux` (sync-server/mux-uplink.ts, lab-node/relay-room.ts)
// against a real relay process: rooms past the bound a socket may carry go on another socket, which
// closes with its last room; a key the relay does not know ends every room with 4401, tried once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { Close } from '../../shared/errors.ts'
import { MuxUplink } from '../../sync-server/mux-uplink.ts'
import { RelayRoom } from '../../lab-node/relay-room.ts'
import { RelayLink, RelayRefusedError } from '../../lab-node/relay-link.ts'
import { removeDir, startRelay, tempDir, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOneItemOrder } from '../helpers/lab.ts'

let relay: RelayProcess
const cleanups: Array<() => void> = []
test.before(async () => { relay = await startRelay({ config: ONE_LAB_CONFIG }) })
test.after.each(() => { for (const cleanup of cleanups.splice(0).reverse()) cleanup() })
test.after(async () => {
  await relay.kill()
  removeDir(relay.dataDir)
})

function uplink(key: string, maxRooms?: number): MuxUplink {
  const made = new MuxUplink({ url: `${relay.wsUrl}/sync-mux`, token: () => key, maxRooms })
  cleanups.push(() => made.close())
  return made
}

function room(name: string, on: MuxUplink): RelayRoom {
  const made = new RelayRoom(name, new Y.Doc(), on)
  cleanups.push(() => made.stop())
  made.start()
  return made
}

test('rooms past the bound of a socket go on a second one, which closes with its last room', async () => {
  const order = await placeOneItemOrder(relay, 5, (done) => cleanups.push(done))
  const link = uplink('lab-1-secret', 2)
  const rooms = ['catalog', 'lab/lab-1', `order/${order.orderId}`].map((name) => room(name, link))
  await waitFor(() => rooms.every((r) => r.synced), 'all three rooms synced')
  assert.is(link.socketCount, 2)
  assert.ok(rooms[2].doc.getMap('spec').get('id') === order.orderId, 'the order as the relay has it')
  rooms[2].stop()
  await waitFor(() => link.socketCount === 1, 'the second socket closed')
  assert.ok(rooms[0].joined && rooms[1].joined, 'the first socket\'s rooms stay')
})

test('a key the relay does not know: every room is refused with 4401 and nothing is tried again', async () => {
  const link = new RelayLink(relay.url, 'lab-1', 'not-the-key', tempDir('labsync-mux-photos-'))
  cleanups.push(() => link.close())
  const refused = await link.ready(10_000).then(() => null, (error: Error) => error)
  assert.instance(refused, RelayRefusedError)
  assert.is((refused as RelayRefusedError).code, Close.Unauthorized.code)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  assert.is(link.socketCount, 0, 'no socket tried again')
})

test.run()
