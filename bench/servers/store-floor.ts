// Reference for the cluster benchmarks, not a product: the least a y-websocket server can do that
// keeps labsync's promise in a cluster (an echo means committed in PostgreSQL, other relays told
// through Redis). Like echo-floor.ts it keeps no document and checks nothing; every update goes
// through labsync's own PgDocStore (group commit) and RedisFanout, then back to every socket on
// its room. labsync's relays do all of this plus Yjs, the rights and the protocol, so against it
// the cluster figures show what the relay's own layer costs; against Hocuspocus, whether a target
// is reachable at all by a server that commits before it echoes.
// Usage: node --import tsx store-floor.ts PORT STORE_URL FANOUT_URL
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { RedisFanout } from '../../sync-server/fanout/redis.ts'
import type { Unsubscribe } from '../../sync-server/fanout/fanout.ts'
import { serveRooms } from './floor-http.ts'
import { MESSAGE_SYNC, readMessage, updateMessage, type Message } from '../../shared/sync-protocol.ts'

/** Sync step 2 (1) carrying an empty Yjs update (no structs, empty delete set). */
const EMPTY_STEP2 = new Uint8Array([MESSAGE_SYNC, 1, 2, 0, 0])

const [port = '0', storeUrl, fanoutUrl] = process.argv.slice(2)
if (!fanoutUrl) {
  console.error('usage: store-floor.ts PORT STORE_URL FANOUT_URL')
  process.exit(2)
}
const store = await PgDocStore.open(storeUrl)
const fanout = await RedisFanout.open(fanoutUrl, { prefix: 'store-floor' })

/** The sockets on each room, and its fan-out subscription (made before the first socket joins). */
const rooms = new Map<string, { sockets: Set<WebSocket>; unsubscribe: Promise<Unsubscribe> }>()

function join(room: string, ws: WebSocket): void {
  let entry = rooms.get(room)
  if (!entry) {
    const sockets = new Set<WebSocket>()
    // Another server's committed update: to this room's sockets as a sync update message.
    const unsubscribe = fanout.subscribe(room, (update) => { for (const s of sockets) s.send(updateMessage(update)) })
    rooms.set(room, entry = { sockets, unsubscribe })
  }
  entry.sockets.add(ws)
  ws.once('close', () => {
    entry.sockets.delete(ws)
    if (entry.sockets.size > 0 || rooms.get(room) !== entry) return
    rooms.delete(room)
    void entry.unsubscribe.then((stop) => stop())
  })
}

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', (ws: WebSocket, room: string) => {
  ws.binaryType = 'nodebuffer'
  ws.on('error', () => ws.terminate())
  join(room, ws)
  ws.on('message', (data: RawData) => {
    let message: Message
    try {
      message = readMessage(data as Buffer)
    } catch {
      return // a truncated frame: nothing to answer
    }
    if (message.kind === 'sync-step1') return void ws.send(EMPTY_STEP2)
    if (message.kind !== 'sync-step2' && message.kind !== 'sync-update') return // awareness and the rest
    const update = message.update
    if (update.length === 2 && update[0] === 0 && update[1] === 0) return // an empty step 2
    store.append(room, update).then(() => {
      fanout.publish(room, update)
      const echo = message.kind === 'sync-update' ? data as Buffer : updateMessage(update)
      for (const s of rooms.get(room)?.sockets ?? []) s.send(echo)
    }, (error: Error) => { console.error(`store-floor: ${error.message}`); ws.close(1013) })
  })
})

serveRooms('store-floor', port, wss, () => Promise.allSettled([store.close(), fanout.close()]))
