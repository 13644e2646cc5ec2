// Peer for the `cluster` workload: one of several stock @hocuspocus/server 3.4.4 instances with
// @hocuspocus/extension-redis 3.4.4 (updates between instances over Redis pub/sub, a Redis lock
// around each store) and @hocuspocus/extension-database 3.4.4 on PostgreSQL, default store
// debounce (2 s, at most 10 s). The single-instance peer (hocuspocus.ts) keeps a SQLite file; a
// file per instance would hide each instance's documents from the others after a failover, so the
// instances share a database, as a Hocuspocus cluster is deployed, and the same PostgreSQL as labsync.
// Usage: node --import tsx hocuspocus-cluster.ts PORT POSTGRES_URL REDIS_URL NAME
import pg from 'pg'
import { Server } from '@hocuspocus/server'
import { Redis } from '@hocuspocus/extension-redis'
import { Database } from '@hocuspocus/extension-database'

const [port, store, fanout, name] = process.argv.slice(2)
if (!name) {
  console.error('usage: hocuspocus-cluster.ts PORT POSTGRES_URL REDIS_URL NAME')
  process.exit(2)
}

// The table (HOCUSPOCUS_TABLE in bench/lib/cluster-setup.ts) is made before the instances start:
// two CREATE TABLE IF NOT EXISTS at once can both try to create it.
// pg's default pool (10 connections): loads queue behind the debounced stores, each its own commit.
const pool = new pg.Pool({ connectionString: store })
const redis = new URL(fanout)

const server = new Server({
  name,
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
  extensions: [
    new Redis({ host: redis.hostname, port: Number(redis.port), identifier: name }),
    new Database({
      async fetch({ documentName }) {
        const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM hocuspocus_documents WHERE name = $1', [documentName])
        return rows[0] ? new Uint8Array(rows[0].data) : null
      },
      async store({ documentName, state }) {
        await pool.query('INSERT INTO hocuspocus_documents (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = excluded.data', [documentName, state])
      },
    }),
  ],
  // Hocuspocus needs an auth message before it syncs; a fixed token keeps the check as cheap as it gets.
  async onAuthenticate({ token }) {
    if (token !== 'bench-token') throw new Error('bad token')
  },
})
await server.listen()
console.log(`hocuspocus listening on http://127.0.0.1:${server.address.port}`)
