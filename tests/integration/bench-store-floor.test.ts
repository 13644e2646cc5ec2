// The cluster benchmark's Yjs store floor (bench/servers/store-floor.ts … yjs) is used as proof that
// issue 18's target cannot be met on this host by any Yjs server that commits before it echoes, so
// it must really do the least such a server does: echo a write only once PostgreSQL has it, apply
// every update (its own clients' and, through Redis, the other server's) to the room's document,
// and answer a client that joins later from that document. On real PostgreSQL and Redis.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import { join } from 'node:path'
import { openClient, type Client } from '../../bench/lib/clients.ts'
import { startProcess, startServices, type ClusterProcess } from '../../bench/lib/cluster-procs.ts'

const FLOOR = join(import.meta.dirname, '..', '..', 'bench', 'servers', 'store-floor.ts')

test('the Yjs store floor echoes what PostgreSQL has, shares it through Redis, and a client joining later syncs it from the document', async () => {
  const services = await startServices()
  const floors: ClusterProcess[] = []
  const clients: Client[] = []
  const db = await services.postgres.createDatabase('yjs_store_floor')
  const sql = new pg.Client({ connectionString: db })
  try {
    for (const name of ['floor1', 'floor2']) floors.push(await startProcess(name, process.execPath, ['--import', 'tsx', FLOOR, '0', db, services.redis.url, 'yjs']))
    await sql.connect()
    const room = 'order/yjs-floor-test'
    const open = (floor: ClusterProcess) => {
      const client = openClient('yjs-floor', floor.url.replace(/^http/, 'ws'), room, 'any')
      clients.push(client)
      return client
    }
    const writer = open(floors[0])
    const watcher = open(floors[1]) // keeps the room open on floor2, so it takes the fan-out's updates
    await Promise.all([writer.synced, watcher.synced])

    const text = writer.doc.getText('note')
    const storedAtEcho: number[] = []
    for (const word of ['one ', 'two ', 'three']) {
      text.insert(text.length, word)
      await writer.echoed(5_000)
      const { rows } = await sql.query<{ n: string }>('SELECT count(*) AS n FROM doc_updates WHERE doc = $1', [room])
      storedAtEcho.push(Number(rows[0].n))
    }
    assert.ok(storedAtEcho.every((n, i) => n >= i + 1), `rows in PostgreSQL at each echo: ${storedAtEcho.join(' ')}`)

    const deadline = Date.now() + 5_000
    while (watcher.doc.getText('note').toString() !== 'one two three' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.is(watcher.doc.getText('note').toString(), 'one two three', 'the other server\'s client got every write through Redis')

    // Answered from floor2's document, which only the fan-out brought these writes to.
    const late = open(floors[1])
    await late.synced
    assert.is(late.doc.getText('note').toString(), 'one two three', 'a client joining later syncs the whole document')
  } finally {
    for (const client of clients) client.destroy()
    await sql.end().catch(() => {})
    await Promise.allSettled(floors.map((f) => f.stop()))
    await services.stop()
  }
})

test.run()
