// Workload 4, memory: server RSS (from /proc) at rest, then with C idle connections (spread over
// four user rooms, so documents cost next to nothing), then with D more connections each on its
// own small order document that its client has just written (3 items). Per idle connection =
// delta / C; per loaded small order document = delta / D minus one connection. labsync also
// loads D stored orders for reading only (no write), which shows what a write adds. Each server
// runs with --inspect on 127.0.0.1, and a full GC is forced before every sample, for every system.
import { startServer, type SystemName } from '../lib/proc.ts'
import { connectInspector, inspectorUrl, memoryAfterGc } from '../lib/inspector.ts'
import { accounts } from '../lib/relay-api.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { KiB } from '../lib/stats.ts'
import { peerRatios, type Metrics } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import type { HoldRoom } from '../lib/drive.ts'
import { closeSeedDb, openSeedDb, seedOrderDocs, seedOrderId } from '../lib/seed.ts'
import { runTag, type Context } from './context.ts'

export async function memory(ctx: Context) {
  const connections = ctx.quick ? 400 : 1_000
  const docs = ctx.quick ? 200 : 1_000
  ctx.log(`memory: ${connections} idle connections, then ${docs} small order documents`)
  const systems: Record<string, Metrics> = {}
  for (const system of ctx.systems) systems[system] = await runSystem(ctx, system, connections, docs)
  return {
    workload: 'memory',
    systems,
    ratios: {
      ...peerRatios(systems, ['perIdleConnectionKiB', 'perWrittenDocKiB', 'heapPerIdleConnectionKiB', 'heapPerWrittenDocKiB', 'baseRssMiB']),
      'labsync/target': {
        perIdleConnectionKiB: systems.labsync.perIdleConnectionKiB / 20,
        perWrittenDocKiB: systems.labsync.perWrittenDocKiB / 50,
        perStoredDocReadKiB: systems.labsync.perStoredDocReadKiB / 50,
      },
    },
  }
}

async function runSystem(ctx: Context, system: SystemName, connections: number, docs: number): Promise<Metrics> {
  const dataDir = ctx.tempDir(`memory-${system}`)
  if (system === 'labsync') {
    const db = openSeedDb(dataDir)
    seedOrderDocs(db, { count: docs, items: 3, until: Date.now(), queueLab: 'demo-lab', labOf: () => 'demo-lab', frontOf: () => 'demo-store' })
    closeSeedDb(db)
  }
  const server = await startServer(system, { dataDir, nodeArgs: ['--inspect=127.0.0.1:0'] })
  const url = inspectorUrl(server.output())
  if (!url) throw new Error(`${system} printed no inspector URL`)
  const inspector = await connectInspector(url)
  const measure = () => memoryAfterGc(server.pid, inspector)
  const tag = runTag()
  const keys: string[] = []
  const hold = async (name: string, rooms: HoldRoom[]) => {
    const key = `${name}-${system}-${tag}`
    keys.push(key)
    const parts = shares(rooms, ctx.workers.size)
    const held = await ctx.workers.all<{ opened: number; errors: string[] }>('hold', (i) => ({ key, system, wsUrl: server.wsUrl, rooms: parts[i] }), 180_000)
    const errors = held.flatMap((h) => h.errors)
    if (errors.length) ctx.log(`memory ${system} ${name}: ${errors.length} errors, first: ${errors[0]}`)
    return held.reduce((a, h) => a + h.opened, 0)
  }
  try {
    const people = system === 'labsync' ? await accounts(server.url, 4)
      : Array.from({ length: 4 }, (_, i) => ({ userId: `peer-u${i}`, token: HOCUSPOCUS_TOKEN }))
    const base = await measure()
    const idle = await hold('idle', Array.from({ length: connections }, (_, i) => {
      const who = people[i % people.length]
      return { room: `user/${who.userId}`, token: who.token }
    }))
    const withIdle = await measure()
    const written = await hold('docs', Array.from({ length: docs }, (_, i) => {
      const who = people[i % people.length]
      return { room: `order/mem${tag}d${i}`, token: who.token, writeOrderAs: who.userId }
    }))
    const withDocs = await measure()
    const perConnection = (withIdle.rss - base.rss) / idle
    const heapPerConnection = (withIdle.heap - base.heap) / idle
    const metrics: Metrics = {
      baseRssMiB: base.rss / KiB / KiB,
      idleConnections: idle,
      perIdleConnectionKiB: perConnection / KiB,
      heapPerIdleConnectionKiB: heapPerConnection / KiB,
      writtenDocs: written,
      perWrittenDocKiB: ((withDocs.rss - withIdle.rss) / written - perConnection) / KiB,
      heapPerWrittenDocKiB: ((withDocs.heap - withIdle.heap) / written - heapPerConnection) / KiB,
      rssWithAllMiB: withDocs.rss / KiB / KiB,
    }
    if (system === 'labsync') {
      const read = await hold('stored', Array.from({ length: docs }, (_, i) => ({ room: `order/${seedOrderId(i)}`, token: 'demo-admin-token' })))
      const withStored = await measure()
      metrics.storedDocsRead = read
      metrics.perStoredDocReadKiB = ((withStored.rss - withDocs.rss) / read - perConnection) / KiB
      metrics.heapPerStoredDocReadKiB = ((withStored.heap - withDocs.heap) / read - heapPerConnection) / KiB
    }
    ctx.log(`memory ${system}: ${metrics.perIdleConnectionKiB.toFixed(1)} KiB per idle connection, ${metrics.perWrittenDocKiB.toFixed(1)} KiB per written doc`)
    return metrics
  } finally {
    for (const key of keys) await ctx.workers.all('release', () => ({ key })).catch(() => {})
    inspector.close()
    await server.stop().catch(() => server.kill())
  }
}

