// Peer for the benchmarks: stock @y/websocket-server 0.1.1 (setupWSConnection) persisting to
// LevelDB through y-leveldb 0.2.0, bound exactly as the package's own YPERSISTENCE code binds it.
// Usage: node --import tsx y-websocket-server.ts DATA_DIR [PORT]
import { createServer } from 'node:http'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { LeveldbPersistence } from 'y-leveldb'
import { setPersistence, setupWSConnection } from '@y/websocket-server/utils'

const [dataDir, port = '0'] = process.argv.slice(2)
if (!dataDir) {
  console.error('usage: y-websocket-server.ts DATA_DIR [PORT]')
  process.exit(2)
}

const ldb = new LeveldbPersistence(join(dataDir, 'leveldb'))
// The same bindState as @y/websocket-server's YPERSISTENCE branch (src/utils.js).
setPersistence({
  provider: ldb,
  bindState: async (docName: string, ydoc: Y.Doc) => {
    const persistedYdoc = await ldb.getYDoc(docName)
    const newUpdates = Y.encodeStateAsUpdate(ydoc)
    ldb.storeUpdate(docName, newUpdates)
    Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(persistedYdoc))
    ydoc.on('update', (update: Uint8Array) => { ldb.storeUpdate(docName, update) })
  },
  writeState: async () => {},
})

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)
const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('okay') })
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`y-websocket-server listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
const stop = async () => {
  server.close()
  await ldb.destroy()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
