// Reference for the benchmarks, not a product: the least a Yjs server can do, with and without
// labsync's promise. It keeps a Y.Doc per room and applies every update to it (any server that
// checks what a write changes must: which map an item lands in is only known against the
// document), then sends the update back to every socket on the room. It checks nothing, knows no
// account and speaks only the sync messages a stock WebsocketProvider needs.
//   yjs-floor.ts PORT            `yjs-floor`: echoes once the update is applied, stores nothing.
//   yjs-floor.ts PORT DATA_DIR   `durable-floor`: also appends each update through labsync's own
//                                SqliteDocStore (group commit on its writer thread, fsync on) and
//                                echoes only once it is committed, as labsync's relay does.
// Beside the echo floor (servers/echo-floor.ts: what the clients cost), these say what Yjs and
// durability cost by themselves on this host: a target that even the durable floor misses cannot
// be met by a server that applies its writes with Yjs and acknowledges only durable ones.
import { join as joinPath } from 'node:path'
import * as Y from 'yjs'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { DOC_STORE_MIGRATIONS, SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { serveRooms } from './floor-http.ts'
import { readMessage, step2Message, type Message } from '../../shared/sync-protocol.ts'

const [port = '0', dataDir] = process.argv.slice(2)
const store = dataDir ? new SqliteDocStore(openDatabase(joinPath(dataDir, 'floor.sqlite'), DOC_STORE_MIGRATIONS)) : null
const title = store ? 'durable-floor' : 'yjs-floor'

/** A room's document and sockets; `waiting` holds frames that came while its stored updates load. */
interface Room { name: string; doc: Y.Doc; sockets: Set<WebSocket>; waiting: Array<{ ws: WebSocket; data: Buffer }> | null }
const rooms = new Map<string, Room>()

function join(name: string, ws: WebSocket): Room {
  let room = rooms.get(name)
  if (!room) {
    const opened: Room = { name, doc: new Y.Doc({ gc: true }), sockets: new Set(), waiting: store ? [] : null }
    // The durable floor starts a room from what is stored, as a relay does (nothing, for a new order).
    store?.load(name).then((updates) => {
      for (const update of updates) Y.applyUpdate(opened.doc, update)
      const waiting = opened.waiting ?? []
      opened.waiting = null
      for (const frame of waiting) onMessage(opened, frame.ws, frame.data)
    }, (error: Error) => { console.error(`${title}: ${error.message}`); for (const ws of opened.sockets) ws.close(1011) })
    rooms.set(name, room = opened)
  }
  const joined = room
  joined.sockets.add(ws)
  ws.once('close', () => {
    joined.sockets.delete(ws)
    if (joined.sockets.size > 0 || rooms.get(name) !== joined) return
    rooms.delete(name)
    store?.release(name)
    joined.doc.destroy()
  })
  return joined
}

function onMessage(room: Room, ws: WebSocket, data: Buffer): void {
  if (room.waiting) return void room.waiting.push({ ws, data })
  let message: Message
  try {
    message = readMessage(data)
  } catch {
    return // a truncated frame: nothing to answer
  }
  if (message.kind === 'sync-step1') return void ws.send(step2Message(room.doc, message.stateVector))
  if (message.kind !== 'sync-step2' && message.kind !== 'sync-update') return // awareness and the rest
  const update = message.update
  if (update.length === 2 && update[0] === 0 && update[1] === 0) return // an empty step 2
  try {
    Y.applyUpdate(room.doc, update)
  } catch {
    return void ws.close(1003)
  }
  const echo = () => { for (const s of room.sockets) s.send(data) }
  if (!store) return echo()
  store.append(room.name, update).then(echo, (error: Error) => { console.error(`${title}: ${error.message}`); ws.close(1011) })
}

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', (ws: WebSocket, name: string) => {
  ws.binaryType = 'nodebuffer'
  ws.on('error', () => ws.terminate())
  const room = join(name, ws)
  ws.on('message', (data: RawData) => onMessage(room, ws, data as Buffer))
})

serveRooms(title, port, wss, async () => store?.close())
