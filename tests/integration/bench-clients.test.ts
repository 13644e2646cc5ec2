// The benchmark's measuring instrument: its clients (bench/lib/clients.ts) must see a write's echo
// only once the server has sent the write back, from the labsync relay and from the echo floor
// (bench/servers/echo-floor.ts), and the floor must answer like a y-websocket server.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { openClient, echoedClockIn } from '../../bench/lib/clients.ts'
import { forkTs, startServer, usePlacement, type ServerProcess } from '../../bench/lib/proc.ts'
import { allowedCpus, hasTaskset, parseCpuList, UNPINNED } from '../../bench/lib/placement.ts'
import { openRateClients, runAtRate } from '../../bench/lib/drive-rate.ts'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { writeSpec } from '../../shared/schema.ts'
import { newOrderId, removeDir, signUp, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'

let relay: RelayProcess
let floor: ServerProcess
let floorDir: string

test.before(async () => {
  floorDir = tempDir('labsync-floor-')
  ;[relay, floor] = await Promise.all([startRelay(), startServer('floor', { dataDir: floorDir })])
})

test.after(async () => {
  await Promise.allSettled([relay?.kill(), floor?.kill()])
  removeDir(relay?.dataDir)
  removeDir(floorDir)
})

test('echoedClockIn reads the writer\'s clock from an update message and ignores everything else', () => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  doc.getMap('m').set('a', 1)
  doc.getMap('m').set('b', 2)
  const message = (u: Uint8Array) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeUpdate(e, u)
    return encoding.toUint8Array(e)
  }
  assert.is(echoedClockIn(message(updates[1]), false, doc.clientID), 2)
  assert.is(echoedClockIn(message(updates[1]), false, doc.clientID + 1), 0, 'another writer\'s clock')
  assert.is(echoedClockIn(new Uint8Array([1, 0]), false, doc.clientID), 0, 'awareness')
  assert.is(echoedClockIn(new Uint8Array([0, 2, 200]), false, doc.clientID), 0, 'truncated')
})

for (const system of ['labsync', 'floor'] as const) {
  test(`a stock client syncs with ${system} and sees each write echoed, not before`, async () => {
    const id = newOrderId()
    const account = system === 'labsync' ? await signUp(relay.url) : { userId: 'u1', token: 'any' }
    const wsUrl = system === 'labsync' ? relay.wsUrl : floor.wsUrl
    const client = openClient(system, wsUrl, `order/${id}`, account.token)
    try {
      await client.synced
      writeSpec(client.doc, { id, user: account.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [{ image: 'a'.repeat(64), product: 'L', qty: 1 }] })
      const first = client.echoed(5_000)
      let settled = false
      void first.then(() => { settled = true })
      await Promise.resolve()
      assert.not.ok(settled, 'not echoed before the server answered')
      await first
      const item = (client.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).get(0)
      for (let i = 0; i < 5; i++) {
        item.set('qty', 2 + i)
        await client.echoed(5_000)
      }
      assert.ok(client.bytes().in > 0 && client.bytes().out > 0, 'bytes are counted both ways')
    } finally {
      client.destroy()
    }
  })
}

test('the floor answers sync step 1 with an empty step 2 and ignores awareness', async () => {
  const ws = new WebSocket(`${floor.wsUrl}/sync/order/x`)
  const received: Uint8Array[] = []
  ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)))
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  ws.send(new Uint8Array([1, 0])) // awareness: no answer
  const step1 = encoding.createEncoder()
  encoding.writeVarUint(step1, 0)
  syncProtocol.writeSyncStep1(step1, new Y.Doc())
  ws.send(encoding.toUint8Array(step1))
  const deadline = Date.now() + 5_000
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  ws.close()
  assert.is(received.length, 1)
  const doc = new Y.Doc()
  const decoder = decoding.createDecoder(received[0])
  assert.is(decoding.readVarUint(decoder), 0, 'a sync message')
  assert.is(syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, null), syncProtocol.messageYjsSyncStep2)
  assert.is(doc.share.size, 0, 'nothing in it')
})

test('rate steps against the floor: the offered writes are all sent on time and echoed, and the step says when it ran', async () => {
  const customers = Array.from({ length: 20 }, (_, i) => ({ userId: `u${i}`, token: 'any' }))
  const { clients, errors } = await openRateClients({ system: 'floor', wsUrl: floor.wsUrl, customers, prefix: `rate${Date.now()}` })
  try {
    assert.equal(errors, [])
    assert.is(clients.length, 20)
    const step = await runAtRate(clients, 200, 1)
    assert.equal(step.errors, [])
    assert.ok(Math.abs(step.due - 200) <= 20, `${step.due} writes due at 200/s for 1 s`)
    assert.is(step.latencies.length, step.due, 'every due write sent and echoed')
    assert.is(step.dropped, 0)
    const seconds = (step.endedAt - step.startedAt) / 1000
    assert.ok(seconds >= 0.95 && seconds < 1.5, `the step took ${seconds} s`)
  } finally {
    for (const client of clients) client.destroy()
  }
})

test('with a pinned placement, servers start on the server CPU and forked workers on the load CPUs', async () => {
  const allowed = parseCpuList(allowedCpus())
  if (!hasTaskset() || allowed.length < 2 || availableParallelism() < 2) {
    console.log('  (skipped: needs taskset and two CPUs)')
    return
  }
  usePlacement({ pinned: true, server: String(allowed[0]), load: allowed.slice(1).join(',') })
  const dir = tempDir('labsync-floor-pinned-')
  let pinned: ServerProcess | undefined
  const worker = forkTs(join(import.meta.dirname, '..', '..', 'bench', 'workers', 'load.ts'))
  try {
    pinned = await startServer('floor', { dataDir: dir })
    assert.is(allowedCpus(pinned.pid), String(allowed[0]))
    await new Promise((resolve) => worker.once('message', resolve)) // the worker says it is ready
    assert.equal(parseCpuList(allowedCpus(worker.pid!)), allowed.slice(1))
  } finally {
    usePlacement(UNPINNED)
    worker.kill('SIGKILL')
    await pinned?.kill()
    removeDir(dir)
  }
})

test.run()
