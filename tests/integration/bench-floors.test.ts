// The benchmark's Yjs floors (bench/servers/yjs-floor.ts) are used as proof that a target cannot be
// met, so they must really do the least such a server does: keep each room's document (a second
// client syncs what the first wrote) and, for the durable floor, echo a write only once it is in
// the SQLite file, which survives a SIGKILL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { openClient } from '../../bench/lib/clients.ts'
import { startServer, type ServerProcess } from '../../bench/lib/proc.ts'
import { writeSpec } from '../../shared/schema.ts'
import { newOrderId, removeDir, tempDir } from '../helpers/relay.ts'

const servers: ServerProcess[] = []
const dirs: string[] = []
test.after.each(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.kill()))
  for (const dir of dirs.splice(0)) removeDir(dir)
})

async function start(system: 'yjs-floor' | 'durable-floor'): Promise<ServerProcess> {
  const dataDir = tempDir(`labsync-${system}-`)
  dirs.push(dataDir)
  const server = await startServer(system, { dataDir })
  servers.push(server)
  return server
}

const items = (doc: Y.Doc) => doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>> | undefined

/** Opens a stock client on `room`, writes an order of one item and changes its quantity `edits` times, each echoed. */
async function writeOrder(server: ServerProcess, room: string, edits: number, afterEcho: (writes: number) => void = () => {}): Promise<void> {
  const client = openClient('floor', server.wsUrl, room, 'any')
  try {
    await client.synced
    writeSpec(client.doc, { id: room.split('/')[1], user: 'u1', front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [{ image: 'a'.repeat(64), product: 'L', qty: 1 }] })
    await client.echoed(5_000)
    afterEcho(1)
    for (let i = 0; i < edits; i++) {
      items(client.doc)!.get(0).set('qty', 2 + i)
      await client.echoed(5_000)
      afterEcho(2 + i)
    }
  } finally {
    client.destroy()
  }
}

/** What a fresh client syncs from the server: the item's quantity. */
async function syncedQty(server: ServerProcess, room: string): Promise<unknown> {
  const client = openClient('floor', server.wsUrl, room, 'any')
  try {
    await client.synced
    return items(client.doc)?.get(0)?.get('qty')
  } finally {
    client.destroy()
  }
}

for (const system of ['yjs-floor', 'durable-floor'] as const) {
  test(`${system} keeps the room's document: a second client syncs what the first wrote`, async () => {
    const server = await start(system)
    const room = `order/${newOrderId()}`
    const second = openClient('floor', server.wsUrl, room, 'any')
    try {
      await second.synced
      await writeOrder(server, room, 3)
      assert.is(await syncedQty(server, room), 4, 'a client opening the room later gets it whole')
    } finally {
      second.destroy()
    }
  })
}

test('durable-floor echoes a write only once it is in the SQLite file, and it survives a SIGKILL', async () => {
  const server = await start('durable-floor')
  const room = `order/${newOrderId()}`
  const db = new Database(join(server.dataDir, 'floor.sqlite'), { readonly: true, fileMustExist: true })
  const stored: number[] = []
  try {
    await writeOrder(server, room, 8, (writes) => {
      stored.push((db.prepare('SELECT count(*) AS n FROM doc_updates WHERE doc = ?').get(room) as { n: number }).n - writes)
    })
  } finally {
    db.close()
  }
  assert.ok(stored.every((n) => n >= 0), `rows beyond the echoed writes at each echo: ${stored.join(' ')}`)
  await server.kill()
  const again = await server.restart()
  servers.push(again)
  assert.is(await syncedQty(again, room), 9, 'every echoed write is there after the restart')
})

test.run()
