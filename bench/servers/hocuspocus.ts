// Peer for the benchmarks: stock @hocuspocus/server 3.4.4 with @hocuspocus/extension-sqlite, default
// store debounce (2 s, at most 10 s). Usage: node --import tsx hocuspocus.ts DATA_DIR [PORT]
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const [dataDir, port = '0'] = process.argv.slice(2)
if (!dataDir) {
  console.error('usage: hocuspocus.ts DATA_DIR [PORT]')
  process.exit(2)
}
mkdirSync(dataDir, { recursive: true })

const server = new Server({
  name: 'bench',
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
  extensions: [new SQLite({ database: join(dataDir, 'hocuspocus.sqlite') })],
  // Hocuspocus needs an auth message before it syncs; a fixed token keeps the check as cheap as it gets.
  async onAuthenticate({ token }) {
    if (token !== 'bench-token') throw new Error('bad token')
  },
})
await server.listen()
console.log(`hocuspocus listening on http://127.0.0.1:${server.address.port}`)
