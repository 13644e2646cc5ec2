// Workload 3, lab pull (labsync only): 100,000 received orders stored (10,000 with --quick), each
// its own document with an accepted receipt and a reception row, spread over ten labs; exactly 100
// are assigned to the bench lab and listed in its queue. The lab opens its queue, then those 100
// orders, all at once (a fresh relay) and one after another (restarted, cold again). Time until all
// are synced, and bytes received against the bytes of those 100 orders as stored.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, watchProc } from '../lib/proc.ts'
import { MiB } from '../lib/stats.ts'
import { targetRatios, type Metrics } from '../lib/report.ts'
import { closeSeedDb, openSeedDb, seedOrderDocs } from '../lib/seed.ts'
import type { Context } from './context.ts'

const LAB = 'bench-lab'
const KEY = 'bench-lab-key'
const OTHER_LABS = Array.from({ length: 9 }, (_, i) => `lab-${i + 1}`)
const front = (lab: string) => `front-${lab}`

export function labConfig() {
  const labs = [LAB, ...OTHER_LABS]
  return {
    currency: 'JPY',
    timeZone: 'Asia/Tokyo',
    products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
    templates: [{ id: 'plain', name: 'No frame' }],
    labs: labs.map((id) => ({ id, name: id, key: id === LAB ? KEY : `${id}-key`, price: { L: 35 } })),
    fronts: labs.map((lab) => ({ id: front(lab), name: front(lab), lab, fee: 100, roles: ['reception', 'delivery'] })),
    discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }] },
    admins: [{ name: 'admin', token: 'bench-admin-token' }],
  }
}

export async function labpull(ctx: Context) {
  const stored = ctx.quick ? 10_000 : 100_000
  const assigned = 100
  const dataDir = ctx.tempDir('labpull')
  const configFile = join(dataDir, 'config.json')
  writeFileSync(configFile, JSON.stringify(labConfig()))
  const built = performance.now()
  const db = openSeedDb(dataDir)
  const every = stored / assigned
  const { queued, queuedBytes } = seedOrderDocs(db, {
    count: stored, items: 3, until: Date.now(), queueLab: LAB, frontOf: front,
    labOf: (i) => (i % every === every - 1 ? LAB : OTHER_LABS[i % OTHER_LABS.length]),
  })
  closeSeedDb(db)
  const buildSeconds = (performance.now() - built) / 1000
  ctx.log(`labpull: ${stored} stored orders built in ${buildSeconds.toFixed(1)} s, ${queued.length} assigned to ${LAB} (${queuedBytes} bytes)`)

  const metrics: Metrics = { storedOrders: stored, assignedOrders: queued.length, assignedStoredBytes: queuedBytes, buildSeconds }
  for (const [mode, concurrency] of [['parallel', assigned], ['sequential', 1]] as const) {
    const server = await startServer('labsync', { dataDir, configFile })
    try {
      const watch = watchProc(server.pid, 50)
      const pull = await ctx.workers.send<{ ms: number; queueMs: number; queued: number; complete: number; errors: string[]; orderBytes: number; labBytes: number; rawBytes: number }>(
        0, 'labpull', { job: { wsUrl: server.wsUrl, labId: LAB, key: KEY, concurrency } }, 120_000)
      const usage = watch.stop()
      if (pull.errors.length) ctx.log(`labpull ${mode}: ${pull.errors.length} errors, first: ${pull.errors[0]}`)
      const received = pull.orderBytes + pull.labBytes
      Object.assign(metrics, {
        [`${mode}Ms`]: pull.ms,
        [`${mode}OrdersSynced`]: pull.complete,
        [`${mode}BytesReceived`]: received,
        [`${mode}BytesOverStored`]: received / queuedBytes,
        [`${mode}TcpBytesOverStored`]: pull.rawBytes / queuedBytes,
        [`${mode}PeakRssMiB`]: usage.peakRssBytes / MiB,
      })
      if (mode === 'parallel') metrics.queueMs = pull.queueMs
      ctx.log(`labpull ${mode}: ${pull.complete}/${pull.queued} orders in ${pull.ms.toFixed(0)} ms, ${received} bytes (${(received / queuedBytes).toFixed(2)}x stored)`)
    } finally {
      await server.stop()
    }
  }
  return {
    workload: 'labpull',
    systems: { labsync: metrics },
    ratios: targetRatios(metrics, { parallelMs: 1000, sequentialMs: 1000, parallelBytesOverStored: 2, sequentialBytesOverStored: 2 }),
  }
}
