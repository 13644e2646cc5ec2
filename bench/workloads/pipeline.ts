// Workload 2, order pipeline (labsync only): a relay whose database already holds 1,000,000 past
// receptions (100,000 with --quick), built straight into SQLite before it starts. Customers in the
// worker processes compose and submit orders through stock clients; a submission's latency is the
// submit write until its receipt arrives in the client's document. Then the discount check
// (Receptions.latestInScope, relay/store/receptions.ts) is timed directly on that database.
import { join } from 'node:path'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { Receptions } from '../../relay/store/receptions.ts'
import type { DiscountScope } from '../../shared/schema.ts'
import { dirBytes, startServer, watchProc } from '../lib/proc.ts'
import { accounts, uploadPhoto } from '../lib/relay-api.ts'
import { percentile, mean, MiB } from '../lib/stats.ts'
import { targetRatios, type Metrics } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import { closeSeedDb, openSeedDb, seedReceptions, DAY_MS } from '../lib/seed.ts'
import type { Account } from '../lib/drive.ts'
import { runTag, type Context } from './context.ts'

const SPAN_DAYS = 730

export async function pipeline(ctx: Context) {
  const past = ctx.quick ? 100_000 : 1_000_000
  const customerCount = ctx.quick ? 20 : 50
  const ordersEach = ctx.quick ? 5 : 20
  const dataDir = ctx.tempDir('pipeline')
  const users = past / 100

  let built = performance.now()
  const seedDb = openSeedDb(dataDir)
  seedReceptions(seedDb, { count: past, users, until: Date.now(), spanDays: SPAN_DAYS, front: 'demo-store', lab: 'demo-lab' })
  closeSeedDb(seedDb)
  const buildSeconds = (performance.now() - built) / 1000
  ctx.log(`pipeline: ${past} past receptions built in ${buildSeconds.toFixed(1)} s; ${customerCount} customers x ${ordersEach} submissions`)

  const server = await startServer('labsync', { dataDir })
  let metrics: Metrics
  try {
    const people = await accounts(server.url, Math.min(customerCount, 10))
    const withPhotos: Account[] = await Promise.all(people.map(async (p, i) => ({ ...p, photo: await uploadPhoto(server.url, p.token, i) })))
    const customers = Array.from({ length: customerCount }, (_, i) => withPhotos[i % withPhotos.length])
    const parts = shares(customers, ctx.workers.size)
    const tag = runTag()
    const watch = watchProc(server.pid)
    const results = await ctx.workers.all<{ latencies: number[]; errors: string[]; accepted: number; rejected: number; discounted: number; startedAt: number; endedAt: number }>(
      'submit', (i) => ({ job: { wsUrl: server.wsUrl, customers: parts[i], ordersEach, items: 3, prefix: `p${tag}w${i}` } }), 300_000)
    const usage = watch.stop()
    await server.stop()
    const latencies = results.flatMap((r) => r.latencies)
    const errors = results.flatMap((r) => r.errors)
    if (errors.length) ctx.log(`pipeline: ${errors.length} errors, first: ${errors[0]}`)
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000
    const receipts = latencies.length
    metrics = {
      pastReceptions: past,
      submissions: customerCount * ordersEach,
      receipts,
      submissionsPerSec: receipts / seconds,
      receiptP50Ms: percentile(latencies, 50),
      receiptP99Ms: percentile(latencies, 99),
      accepted: results.reduce((a, r) => a + r.accepted, 0),
      discounted: results.reduce((a, r) => a + r.discounted, 0),
      errors: errors.length,
      peakRssMiB: usage.peakRssBytes / MiB,
      cpuPercent: usage.cpuPercent,
      dbMiB: dirBytes(dataDir) / MiB,
      buildSeconds,
    }
  } finally {
    await server.kill()
  }

  Object.assign(metrics, timeDiscountCheck(dataDir, users, ctx.quick ? 20_000 : 50_000))
  ctx.log(`pipeline: ${metrics.submissionsPerSec.toFixed(1)} submissions/s, discount check p99 ${metrics.discountCheckP99Ms.toFixed(4)} ms`)
  return {
    workload: 'pipeline',
    systems: { labsync: metrics },
    ratios: targetRatios(metrics, { discountCheckP99Ms: 1, discountCheckMeanMs: 1 }),
  }
}

/** latestInScope for random past customers at random instants, all three scopes, one call timed at a time. */
function timeDiscountCheck(dataDir: string, users: number, calls: number): Metrics {
  const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
  try {
    const receptions = new Receptions(db)
    const scopes: DiscountScope[] = ['user', 'front', 'lab']
    const until = Date.now()
    let seed = 12345
    const random = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32 }
    const query = () => ({
      user: `past-u${Math.floor(random() * users)}`, front: 'demo-store', lab: 'demo-lab',
      receivedAt: new Date(until - random() * SPAN_DAYS * DAY_MS),
    })
    for (let i = 0; i < 1_000; i++) receptions.latestInScope(scopes[i % 3], query()) // warm the statement cache
    const times: number[] = []
    let found = 0
    for (let i = 0; i < calls; i++) {
      const q = query()
      const started = process.hrtime.bigint()
      const hit = receptions.latestInScope(scopes[i % 3], q)
      times.push(Number(process.hrtime.bigint() - started) / 1e6)
      if (hit) found++
    }
    return {
      discountCheckCalls: calls,
      discountCheckFoundPercent: (100 * found) / calls,
      discountCheckP50Ms: percentile(times, 50),
      discountCheckP99Ms: percentile(times, 99),
      discountCheckMaxMs: percentile(times, 100),
      discountCheckMeanMs: mean(times),
    }
  } finally {
    db.close()
  }
}
