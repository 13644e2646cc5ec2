// Workload `rate`: write latency at a fixed offered load, the same for every system. The sync
// workload is a closed loop (each client waits for its echo before its next write), where
// latency is mostly queueing: a server that connects clients faster has more of them writing at
// once, and Little's law ties its latency to its throughput. Here the load is fixed instead: N
// clients, each on its own order, write on a schedule adding up to R writes/s (open loop, latency
// counted from when each write was due), at a low and at a high rate. Ratios compare servers doing
// exactly the same work at the same time.
import { FLOOR, startServer, watchProc, type SystemName } from '../lib/proc.ts'
import { accounts } from '../lib/relay-api.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { percentile } from '../lib/stats.ts'
import { peerRatios, type Metrics } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import type { Account } from '../lib/drive.ts'
import { runTag, type Context } from './context.ts'

export async function rate(ctx: Context) {
  const clients = ctx.quick ? 200 : 500
  const seconds = ctx.quick ? 5 : 10
  const levels = ctx.quick ? [200, 800] : [300, 2_000]
  ctx.log(`rate: ${clients} clients, ${levels.join(' and ')} writes/s for ${seconds} s each`)
  const systems: Record<string, Metrics> = {}
  // The floor only in the full run: a quick run has no time to spare for a reference.
  const order = ctx.floor && !ctx.quick ? [...ctx.systems, FLOOR] : ctx.systems
  for (const system of order) systems[system] = await runSystem(ctx, system, clients, seconds, levels)
  const keys = levels.flatMap((r) => [`p50Ms@${r}`, `p99Ms@${r}`])
  return { workload: 'rate', systems, ratios: peerRatios(systems, [...keys, 'cpuPercent@high']) }
}

async function runSystem(ctx: Context, system: SystemName, count: number, seconds: number, levels: number[]): Promise<Metrics> {
  const server = await startServer(system, { dataDir: ctx.tempDir(`rate-${system}`) })
  try {
    const people: Account[] = system === 'labsync'
      ? await accounts(server.url, 8)
      : Array.from({ length: 8 }, (_, i) => ({ userId: `peer-u${i}`, token: HOCUSPOCUS_TOKEN }))
    const customers = Array.from({ length: count }, (_, i) => people[i % people.length])
    const parts = shares(customers, ctx.workers.size)
    const metrics: Metrics = {}
    for (const [n, level] of levels.entries()) {
      const tag = runTag()
      const watch = watchProc(server.pid)
      const results = await ctx.workers.all<{ latencies: number[]; writes: number; late: number; errors: string[] }>('rate', (i) => ({
        job: { system, wsUrl: server.wsUrl, customers: parts[i], prefix: `r${tag}w${i}`, rate: level * parts[i].length / count, seconds },
      }), 300_000)
      const usage = watch.stop()
      const latencies = results.flatMap((r) => r.latencies)
      const errors = results.flatMap((r) => r.errors)
      if (errors.length) ctx.log(`rate ${system}@${level}: ${errors.length} errors, first: ${errors[0]}`)
      metrics[`p50Ms@${level}`] = percentile(latencies, 50)
      metrics[`p99Ms@${level}`] = percentile(latencies, 99)
      metrics[`writes@${level}`] = latencies.length
      metrics[`errors@${level}`] = errors.length
      if (n === levels.length - 1) metrics['cpuPercent@high'] = usage.cpuPercent
      ctx.log(`rate ${system}@${level}/s: p50 ${metrics[`p50Ms@${level}`].toFixed(1)} ms, p99 ${metrics[`p99Ms@${level}`].toFixed(1)} ms`)
    }
    return metrics
  } finally {
    await server.kill()
  }
}
