// Standalone: what one socket per device saves the relay, for customers each with five orders in
// progress. Every customer connects the way the app did (six sockets: `/sync/user/<id>` and one per
// order) and then the way it does now (one `/sync-mux` socket carrying the same six rooms). Per
// customer: relay RSS and V8 heap held while connected (after a forced GC), relay CPU spent
// connecting, and the time from opening to all six rooms synced. The documents are loaded before
// either phase (and kept loaded), so only what the sockets cost is compared.
//   node --import tsx bench/workloads/mux-five-orders.ts [customers=200] [concurrent=10]
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { tmpdir } from 'node:os'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { BENCH_LIMITS, sampleProc, sleep, startServer } from '../lib/proc.ts'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { connectInspector, inspectorUrl, memoryAfterGc, type Inspector } from '../lib/inspector.ts'
import { accounts } from '../lib/relay-api.ts'
import { KiB, percentile } from '../lib/stats.ts'
import { MESSAGE_SYNC, readMessage, updateMessage } from '../../shared/sync-protocol.ts'
import { joinFrame, messageFrame, readMuxFrame } from '../../shared/mux-frames.ts'
import { writeSpec } from '../../shared/schema.ts'

const ORDERS = 5
type Mode = 'six sockets' | 'one socket'
interface Customer { userId: string; token: string; rooms: string[] }

const step1 = (() => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint8Array(encoder, Y.encodeStateVector(new Y.Doc()))
  return encoding.toUint8Array(encoder)
})()
/** Our (empty) answer to the relay's sync step 1. */
const emptyStep2 = new Uint8Array([MESSAGE_SYNC, 1, 2, 0, 0])

/** Opens `customer`'s rooms in `mode`; resolves with the sockets once every room got its step 2. */
function connect(wsUrl: string, customer: Customer, mode: Mode): Promise<WebSocket[]> {
  return new Promise((resolve, reject) => {
    const waiting = new Set(customer.rooms)
    const sockets: WebSocket[] = []
    const synced = (room: string) => { waiting.delete(room); if (waiting.size === 0) resolve(sockets) }
    const onBody = (ws: WebSocket, room: string, body: Uint8Array, send: (body: Uint8Array) => void) => {
      const message = readMessage(body)
      if (message.kind === 'sync-step1') send(emptyStep2)
      else if (message.kind === 'sync-step2') synced(room)
    }
    const opened = (ws: WebSocket) => { sockets.push(ws); ws.on('error', reject); ws.on('close', (code) => { if (waiting.size > 0) reject(new Error(`closed ${code}`)) }) }
    if (mode === 'one socket') {
      const ws = new WebSocket(`${wsUrl}/sync-mux?token=${customer.token}`)
      opened(ws)
      ws.on('open', () => { customer.rooms.forEach((room, i) => { ws.send(joinFrame(room, i + 1)); ws.send(messageFrame(room, step1)) }) })
      ws.on('message', (data: Buffer) => {
        const frame = readMuxFrame(new Uint8Array(data), 'server')
        if (frame.kind === 'closed') reject(new Error(`${frame.room} closed ${frame.code}`))
        if (frame.kind === 'message') onBody(ws, frame.room, frame.body, (body) => ws.send(messageFrame(frame.room, body)))
      })
    } else {
      for (const room of customer.rooms) {
        const ws = new WebSocket(`${wsUrl}/sync/${room}?token=${customer.token}`)
        opened(ws)
        ws.on('open', () => ws.send(step1))
        ws.on('message', (data: Buffer) => onBody(ws, room, new Uint8Array(data), (body) => ws.send(body)))
      }
    }
  })
}

/** Writes a draft into each of the customer's orders (over the mux, as the app does). */
async function seed(wsUrl: string, customer: Customer): Promise<void> {
  const [ws] = await connect(wsUrl, customer, 'one socket')
  for (const room of customer.rooms.slice(1)) {
    const doc = new Y.Doc()
    let update: Uint8Array = new Uint8Array()
    doc.on('update', (u: Uint8Array) => { update = u })
    writeSpec(doc, { id: room.slice('order/'.length), user: customer.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [] })
    ws.send(messageFrame(room, updateMessage(update)))
  }
  await sleep(200)
  ws.close()
}

async function phase(wsUrl: string, pid: number, inspector: Inspector, customers: Customer[], mode: Mode, concurrent: number) {
  const before = await memoryAfterGc(pid, inspector)
  const cpuBefore = sampleProc(pid).cpuSeconds
  const held: WebSocket[] = []
  const latencies: number[] = []
  for (let i = 0; i < customers.length; i += concurrent) {
    await Promise.all(customers.slice(i, i + concurrent).map(async (customer) => {
      const started = performance.now()
      held.push(...await connect(wsUrl, customer, mode))
      latencies.push(performance.now() - started)
    }))
  }
  const cpu = sampleProc(pid).cpuSeconds - cpuBefore
  const after = await memoryAfterGc(pid, inspector)
  for (const ws of held) ws.close()
  await sleep(1_000)
  const n = customers.length
  return {
    mode, sockets: held.length,
    rssPerCustomerKiB: (after.rss - before.rss) / n / KiB,
    heapPerCustomerKiB: (after.heap - before.heap) / n / KiB,
    cpuMsPerCustomer: cpu * 1000 / n,
    connectP50Ms: percentile(latencies, 50),
    connectP99Ms: percentile(latencies, 99),
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200)
  const concurrent = Number(process.argv[3] ?? 10)
  const dataDir = mkdtempSync(join(tmpdir(), 'labsync-mux-bench-'))
  // Rooms stay loaded between phases: the documents cost the same in both, the sockets differ.
  // The bench's limits, and sign-ups from one address as fast as the customers are made.
  const configFile = join(dataDir, '..', `${basename(dataDir)}.json`)
  writeFileSync(configFile, JSON.stringify({ ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...BENCH_LIMITS, signInsPerAddress: 1_000_000 } }))
  const server = await startServer('labsync', { dataDir, configFile, nodeArgs: ['--inspect=127.0.0.1:0'], env: { LABSYNC_ROOM_IDLE_MS: String(3_600_000) } })
  const inspector = await connectInspector(inspectorUrl(server.output())!)
  try {
    const made: Array<{ userId: string; token: string }> = []
    // In small batches: the relay turns away sign-ups beyond a few hashing at once.
    while (made.length < count) made.push(...await accounts(server.url, Math.min(4, count - made.length)))
    const customers: Customer[] = made.map((account, c) => ({
      ...account,
      rooms: [`user/${account.userId}`, ...Array.from({ length: ORDERS }, (_, o) => `order/mux${process.pid}c${c}o${o}`)],
    }))
    for (let i = 0; i < customers.length; i += concurrent) await Promise.all(customers.slice(i, i + concurrent).map((c) => seed(server.wsUrl, c)))
    const results = []
    // Each mode twice, alternating, so neither gains from going second.
    for (const mode of ['six sockets', 'one socket', 'six sockets', 'one socket'] as Mode[]) {
      results.push(await phase(server.wsUrl, server.pid, inspector, customers, mode, concurrent))
    }
    console.log(`${count} customers, each on the user document and ${ORDERS} orders, ${concurrent} connecting at once`)
    for (const r of results) {
      console.log(`${r.mode.padEnd(12)} ${String(r.sockets).padStart(5)} sockets  RSS ${r.rssPerCustomerKiB.toFixed(1)} KiB/customer  heap ${r.heapPerCustomerKiB.toFixed(1)} KiB/customer  relay CPU ${r.cpuMsPerCustomer.toFixed(2)} ms/customer  connect p50 ${r.connectP50Ms.toFixed(1)} ms p99 ${r.connectP99Ms.toFixed(1)} ms`)
    }
  } finally {
    inspector.close()
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(configFile, { force: true })
  }
}

await main()
