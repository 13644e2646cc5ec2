// What the benchmark's reference servers (echo-floor.ts, yjs-floor.ts, store-floor.ts) share: an
// HTTP server on 127.0.0.1 that hands each `/sync/<room>` upgrade to their WebSocketServer with
// the room's name, answers anything else "okay", and stops on SIGTERM or SIGINT.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { WebSocketServer } from 'ws'

export function serveRooms(title: string, port: string, wss: WebSocketServer, close: () => Promise<unknown> = async () => {}): void {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('okay') })
  server.on('upgrade', (req, socket, head) => {
    const room = req.url?.startsWith('/sync/') ? decodeURIComponent(req.url.slice('/sync/'.length).split('?')[0]) : ''
    if (!room) return socket.destroy()
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, room))
  })
  server.listen(Number(port), '127.0.0.1', () => {
    console.log(`${title} listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
  const stop = async () => {
    server.close()
    await close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
