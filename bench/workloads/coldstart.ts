// Workload 5, cold start (labsync only): a data dir holding 1,000,000 stored order documents and as
// many receptions (100,000 with --quick), built straight into SQLite. Time from spawning
// `bin/labsync relay` until GET /healthz answers 200, three times (median), against the same on an
// empty data dir, which is what Node, tsx and the relay's own modules cost before any data.
import { startServer, freePort, type ServerProcess } from '../lib/proc.ts'
import { healthy } from '../lib/relay-api.ts'
import { median, MiB } from '../lib/stats.ts'
import { dirBytes } from '../lib/proc.ts'
import { targetRatios, type Metrics } from '../lib/report.ts'
import { closeSeedDb, openSeedDb, seedManyDocs, seedReceptions } from '../lib/seed.ts'
import type { Context } from './context.ts'

export async function coldstart(ctx: Context) {
  const docs = ctx.quick ? 100_000 : 1_000_000
  const runs = 3
  const full = ctx.tempDir('coldstart-full')
  const built = performance.now()
  const db = openSeedDb(full)
  seedManyDocs(db, docs)
  seedReceptions(db, { count: docs, users: docs / 100, until: Date.now(), spanDays: 730, front: 'demo-store', lab: 'demo-lab' })
  closeSeedDb(db)
  const buildSeconds = (performance.now() - built) / 1000
  ctx.log(`coldstart: ${docs} documents and receptions built in ${buildSeconds.toFixed(1)} s (${(dirBytes(full) / MiB).toFixed(0)} MiB)`)

  const empty = ctx.tempDir('coldstart-empty')
  // One start to create the empty database (its migrations are not what is measured).
  await (await startServer('labsync', { dataDir: empty })).stop()
  const emptyMs: number[] = []
  const fullMs: number[] = []
  for (let i = 0; i < runs; i++) {
    emptyMs.push(await timeStart(empty))
    fullMs.push(await timeStart(full))
  }
  const metrics: Metrics = {
    storedDocs: docs,
    dbMiB: dirBytes(full) / MiB,
    healthzMs: median(fullMs),
    healthzMaxMs: Math.max(...fullMs),
    emptyHealthzMs: median(emptyMs),
    dataCostMs: median(fullMs) - median(emptyMs),
    buildSeconds,
  }
  ctx.log(`coldstart: /healthz after ${metrics.healthzMs.toFixed(0)} ms with ${docs} documents, ${metrics.emptyHealthzMs.toFixed(0)} ms empty`)
  return { workload: 'coldstart', systems: { labsync: metrics }, ratios: targetRatios(metrics, { healthzMs: 1000, healthzMaxMs: 1000 }) }
}

/** Spawn to first 200 from /healthz, polled every 5 ms on a port chosen beforehand. */
async function timeStart(dataDir: string): Promise<number> {
  const port = await freePort()
  const spawned = performance.now()
  const starting = startServer('labsync', { dataDir, port })
  let server: ServerProcess | null = null
  try {
    const ms = await healthy(`http://127.0.0.1:${port}`, spawned)
    server = await starting
    return ms
  } finally {
    server ??= await starting.catch(() => null)
    await server?.stop()
  }
}
