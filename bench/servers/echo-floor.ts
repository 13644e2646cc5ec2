// Reference for the benchmarks, not a product: the least a y-websocket server can do. It keeps no
// document and stores nothing; it answers a client's sync step 1 with an empty step 2 (so a stock
// WebsocketProvider counts as synced) and sends every update straight back to its writer. A
// workload's figures against it are what the load workers and the loopback network cost by
// themselves on this host: no server speaking the protocol can do better with these clients.
// Usage: node --import tsx echo-floor.ts [PORT]
import { WebSocketServer, type RawData } from 'ws'
import { serveRooms } from './floor-http.ts'

const MESSAGE_SYNC = 0
const STEP1 = 0
const STEP2 = 1
const UPDATE = 2
/** Sync step 2 carrying an empty Yjs update (no structs, empty delete set). */
const EMPTY_STEP2 = new Uint8Array([MESSAGE_SYNC, STEP2, 2, 0, 0])

const [port = '0'] = process.argv.slice(2)
const wss = new WebSocketServer({ noServer: true })
wss.on('connection', (ws) => {
  ws.binaryType = 'nodebuffer'
  ws.on('error', () => ws.terminate())
  ws.on('message', (data: RawData) => {
    const frame = data as Buffer
    if (frame.length < 2 || frame[0] !== MESSAGE_SYNC) return // awareness and the rest: nothing to answer
    if (frame[1] === STEP1) ws.send(EMPTY_STEP2)
    else if (frame[1] === STEP2 || frame[1] === UPDATE) ws.send(frame)
  })
})
serveRooms('echo-floor', port, wss)
