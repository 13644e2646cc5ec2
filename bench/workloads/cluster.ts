// Workload `cluster` (issue 18, `npm run bench -- --cluster`): the sync workload through haproxy
// against 1, 2 and 3 labsync relays in cluster mode (PostgreSQL, Redis) and against Hocuspocus
// with extension-redis on 2 instances behind the same balancer; then the loss window when one
// instance of each is SIGKILLed. Writes/s, p99, CPU per 1,000 writes of every server process
// (relays or instances, PostgreSQL, Redis; haproxy apart), scaling efficiency, acknowledged loss.
import { loadavg } from 'node:os'
import { sampleProc, type SystemName } from '../lib/proc.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { mean, median, percentile, round } from '../lib/stats.ts'
import type { Metrics, Result } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import type { Account, BurstRoom, SyncResult } from '../lib/drive.ts'
import { cpuMeter, markedDown, startBalancer, type ClusterProcess } from '../lib/cluster-procs.ts'
import { startClusterSystems, RELAYS, type ClusterSystems } from '../lib/cluster-setup.ts'
import { runTag, type Context } from './context.ts'

/** One system at one size behind its own balancer: `labsync×2` is two relays. */
export interface Target { label: string; system: SystemName; servers: ClusterProcess[]; balancer: ClusterProcess; people: Account[] }

export interface ClusterSizes {
  /** Sync: customers at once (one socket each), orders each, items per order, rounds per target (at most). */
  customers: number; orders: number; items: number; rounds: number
  /**
   * A round after the first starts only if one more as long as the average so far still ends
   * within this (from the first round's start): the run stays bounded on a busy host.
   */
  syncBudgetMs: number
  /** Loss: rooms, and writes after each room's first. */
  lossRooms: number; lossWrites: number
}

export async function cluster(ctx: Context): Promise<Result> {
  const sizes: ClusterSizes = ctx.quick
    ? { customers: 200, orders: 3, items: 5, rounds: ctx.rounds ?? 1, syncBudgetMs: 60_000, lossRooms: 20, lossWrites: 50 }
    : { customers: 500, orders: 3, items: 5, rounds: ctx.rounds ?? 3, syncBudgetMs: 150_000, lossRooms: 50, lossWrites: 100 }
  return runCluster(ctx, sizes)
}

/** The workload at any size (tests/integration/bench-cluster.test.ts runs it tiny). */
export async function runCluster(ctx: Context, sizes: ClusterSizes): Promise<Result> {
  ctx.log(`cluster: ${sizes.customers} customers x ${sizes.orders} orders x (1 + ${sizes.items}) writes, ${sizes.rounds} round(s); loss ${sizes.lossRooms} rooms x (1 + ${sizes.lossWrites})`)
  const dir = ctx.tempDir('cluster')
  const systems = await startClusterSystems(dir, 8, ctx.log)
  const balancers: ClusterProcess[] = []
  const balance = async (servers: ClusterProcess[]) => { const b = await startBalancer(dir, servers); balancers.push(b); return b }
  try {
    const targets = await targetsOf(ctx, systems, balance)
    const runs = await syncRounds(ctx, systems, targets, sizes)
    const measured: Record<string, Metrics> = {}
    for (const target of targets) measured[target.label] = medianOf(runs[target.label])
    const lossOf = async (label: string) => {
      const target = targets.find((t) => t.label === label)
      if (target) Object.assign(measured[label], await measureLoss(ctx, target, balance, sizes))
    }
    await lossOf('labsync×2')
    await lossOf('hocuspocus×2')
    return summarize(measured, sizes, runs)
  } finally {
    await Promise.allSettled(balancers.map((b) => b.stop()))
    await systems.close()
  }
}

/**
 * labsync on each of `relayCounts` relays (1, 2 and 3 unless given) and Hocuspocus on 2 instances,
 * each behind a balancer of its own.
 */
export async function targetsOf(ctx: Context, systems: ClusterSystems, balance: (servers: ClusterProcess[]) => Promise<ClusterProcess>, relayCounts = [1, 2, 3]): Promise<Target[]> {
  const targets: Target[] = []
  if (ctx.systems.includes('labsync')) {
    for (const n of relayCounts.filter((count) => count >= 1 && count <= systems.relays.length)) {
      const servers = systems.relays.slice(0, n)
      targets.push({ label: `labsync×${n}`, system: 'labsync', servers, balancer: await balance(servers), people: systems.people })
    }
  }
  if (ctx.systems.includes('hocuspocus')) {
    const servers = systems.hocuspocus
    const people = systems.people.map((_, i) => ({ userId: `peer-u${i}`, token: HOCUSPOCUS_TOKEN }))
    targets.push({ label: `hocuspocus×${servers.length}`, system: 'hocuspocus', servers, balancer: await balance(servers), people })
  }
  if (targets.length === 0) throw new Error('cluster: --systems names neither labsync nor hocuspocus')
  return targets
}

/** Rounds, each starting with the next target, after an unmeasured pass per kind of client. */
async function syncRounds(ctx: Context, systems: ClusterSystems, targets: Target[], sizes: ClusterSizes): Promise<Record<string, Metrics[]>> {
  for (const kind of ['labsync', 'hocuspocus']) {
    const warm = targets.filter((t) => t.system === kind).at(-1)
    if (warm) await measureSync(ctx, systems, warm, { ...sizes, customers: Math.min(sizes.customers, 100), orders: 1 }, 'warm-up')
  }
  const runs: Record<string, Metrics[]> = {}
  const started = performance.now()
  for (let round = 0; round < sizes.rounds; round++) {
    const elapsed = performance.now() - started
    if (round > 0 && elapsed * (round + 1) / round > sizes.syncBudgetMs) {
      ctx.log(`cluster: ${round} round(s) in ${Math.round(elapsed / 1000)} s; one more would pass the ${sizes.syncBudgetMs / 1000} s budget`)
      break
    }
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(round + k) % targets.length]
      ;(runs[target.label] ??= []).push(await measureSync(ctx, systems, target, sizes))
    }
  }
  return runs
}

async function measureSync(ctx: Context, systems: ClusterSystems, target: Target, sizes: ClusterSizes, label = ''): Promise<Metrics> {
  const tag = runTag()
  const customers = Array.from({ length: sizes.customers }, (_, i) => target.people[i % target.people.length])
  const parts = shares(customers, ctx.workers.size)
  const key = `cluster-${target.label}-${tag}`
  const wsUrl = target.balancer.url.replace(/^http/, 'ws')
  await ctx.workers.all('sync-prepare', (i) => ({
    key, job: { system: target.system, wsUrl, customers: parts[i], orders: sizes.orders, items: sizes.items, prefix: `k${tag}${target.servers.length}w${i}`, connectConcurrency: 64 },
  }), 180_000)
  const { postgres, redis } = systems.services
  const meter = cpuMeter({
    ...Object.fromEntries(target.servers.map((s) => [s.name, s.pid])), postgres: postgres.pid, redis: redis.pid, haproxy: target.balancer.pid,
  })
  const downsBefore = markedDown(target.balancer)
  const waitedBefore = target.servers.map((s) => sampleProc(s.pid).waitSeconds)
  const results = await ctx.workers.all<SyncResult>('sync-run', () => ({ key }), 300_000)
  const cpu = meter.read()
  const waited = target.servers.map((s, i) => sampleProc(s.pid).waitSeconds - waitedBefore[i])
  const downs = markedDown(target.balancer) - downsBefore
  const writes = results.reduce((a, r) => a + r.writes, 0)
  const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000
  const latencies = results.flatMap((r) => r.latencies)
  const errors = results.flatMap((r) => r.errors)
  const instances = target.servers.reduce((sum, s) => sum + cpu[s.name], 0)
  const per1k = (cpuSeconds: number) => (cpuSeconds / Math.max(1, writes)) * 1000
  const [load1, load5, load15] = loadavg()
  const metrics: Metrics = {
    instances: target.servers.length,
    writes,
    writesPerSec: writes / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    connectP99Ms: percentile(results.flatMap((r) => r.connectMs), 99),
    cpuSecondsPer1kWrites: per1k(instances + cpu.postgres + cpu.redis),
    instanceCpuSecondsPer1kWrites: per1k(instances),
    postgresCpuSecondsPer1kWrites: per1k(cpu.postgres),
    redisCpuSecondsPer1kWrites: per1k(cpu.redis),
    balancerCpuSecondsPer1kWrites: per1k(cpu.haproxy),
    serverCpuPercent: (100 * (instances + cpu.postgres + cpu.redis)) / seconds,
    // Share of the run each relay's or instance's event loop was ready but had no CPU (averaged):
    // high means the host, not the server, set the pace (as in `sync`).
    serverWaitPercent: mean(waited.map((w) => (100 * w) / seconds)),
    errors: errors.length,
    // haproxy's check (a 1 s timeout) failed twice: it cut that instance's sockets, and its clients reconnected.
    balancerMarkedDown: downs,
    hostLoadAvg1m: load1, hostLoadAvg5m: load5, hostLoadAvg15m: load15,
  }
  if (errors.length) ctx.log(`cluster ${target.label}${label && ` ${label}`}: ${errors.length} errors, first: ${errors[0]}`)
  ctx.log(`cluster ${target.label}${label && ` ${label}`}: ${Math.round(metrics.writesPerSec)} writes/s, p99 ${metrics.p99Ms.toFixed(1)} ms, ` +
    `${metrics.cpuSecondsPer1kWrites.toFixed(3)} CPU s/1k writes (load average ${load1.toFixed(2)} ${load5.toFixed(2)} ${load15.toFixed(2)})`)
  return metrics
}

/**
 * Writers burst through one balancer until every write is echoed; then the first instance gets
 * SIGKILL and, at once, so does the writers' balancer: the writers are cut off as a closed tab
 * would be (Hocuspocus's provider reconnects at once and would hand the surviving instance its
 * whole document again, which a customer who left cannot). Fresh clients count what survived
 * through a second balancer in front of the same instances. Echoed but gone = lost.
 */
async function measureLoss(ctx: Context, target: Target, balance: (servers: ClusterProcess[]) => Promise<ClusterProcess>, sizes: ClusterSizes): Promise<Metrics> {
  const [writersLb, countersLb] = await Promise.all([balance(target.servers), balance(target.servers)])
  const tag = runTag()
  const key = `cluster-loss-${target.label}-${tag}`
  const rooms: BurstRoom[] = Array.from({ length: sizes.lossRooms }, (_, i) => {
    const who = target.people[i % target.people.length]
    const orderId = `loss${tag}n${target.servers.length}r${i}`
    return { room: `order/${orderId}`, token: who.token, user: who.userId, orderId }
  })
  const parts = shares(rooms, ctx.workers.size)
  const ws = (lb: ClusterProcess) => lb.url.replace(/^http/, 'ws')
  try {
    const bursts = await ctx.workers.all<{ acked: number; errors: string[] }>('burst', (i) => ({ key, system: target.system, wsUrl: ws(writersLb), rooms: parts[i], writes: sizes.lossWrites }), 120_000)
    const victim = target.servers[0]
    await Promise.all([victim.kill(), writersLb.kill()]) // the instance first, the writers' way in right after
    await ctx.workers.all('release', () => ({ key }))
    const counts = await ctx.workers.all<{ survived: number; errors: string[] }>('count', (i) => ({ system: target.system, wsUrl: ws(countersLb), rooms: parts[i] }), 60_000)
    const acked = bursts.reduce((a, b) => a + b.acked, 0)
    const survived = counts.reduce((a, c) => a + c.survived, 0)
    const lost = Math.max(0, acked - survived)
    const errors = [...bursts, ...counts].flatMap((r) => r.errors)
    if (errors.length) ctx.log(`cluster loss ${target.label}: ${errors.length} errors, first: ${errors[0]}`)
    ctx.log(`cluster loss ${target.label}: ${victim.name} SIGKILLed, ${acked} echoed, ${survived} survived, ${lost} lost (load average ${loadavg()[0].toFixed(2)})`)
    return { lossEchoed: acked, lossSurvived: survived, lost, lostPercent: acked > 0 ? (100 * lost) / acked : 0, lossErrors: errors.length }
  } finally {
    await ctx.workers.all('release', () => ({ key })).catch(() => {})
  }
}

/** Scaling, ratios to Hocuspocus, targets and notes. */
function summarize(measured: Record<string, Metrics>, sizes: ClusterSizes, runs: Record<string, Metrics[]>): Result {
  const rounds = Math.min(...Object.values(runs).map((r) => r.length))
  const one = measured['labsync×1']
  for (let n = 2; n <= RELAYS; n++) {
    const at = measured[`labsync×${n}`]
    if (one && at) {
      at.scalingEfficiency = at.writesPerSec / (n * one.writesPerSec)
      at.writesPerSecVs1 = at.writesPerSec / one.writesPerSec
    }
  }
  const peer = measured['hocuspocus×2']
  const ratios: Record<string, Metrics> = {}
  if (peer) {
    for (let n = 1; n <= RELAYS; n++) {
      const ours = measured[`labsync×${n}`]
      if (!ours) continue
      const r: Metrics = {}
      for (const m of ['writesPerSec', 'p50Ms', 'p99Ms', 'connectP99Ms', 'cpuSecondsPer1kWrites', 'instanceCpuSecondsPer1kWrites', 'lostPercent']) {
        if (typeof ours[m] === 'number' && typeof peer[m] === 'number' && peer[m] !== 0) r[m] = round(ours[m] / peer[m])
      }
      ratios[`labsync×${n}/hocuspocus×2`] = r
    }
    const two = measured['labsync×2']
    if (two) {
      // Issue 18's target, measured ÷ target so that at or below 1 meets it: writes/s ≥ 2× Hocuspocus's
      // (inverted) at a p99 no higher than its; 0 acknowledged writes lost.
      ratios['labsync/target'] = { '2xHocuspocusPerSec/writesPerSec@2': round((2 * peer.writesPerSec) / two.writesPerSec), 'p99Ms@2': round(two.p99Ms / peer.p99Ms) }
      if (typeof two.lost === 'number') ratios['labsync/target'].lost = two.lost
    }
  }
  const notes = [
    `sync through haproxy (deploy/haproxy.cfg, plain HTTP): ${sizes.customers} customers x ${sizes.orders} orders x ${1 + sizes.items} writes, median of ${rounds} round(s) (at most ${sizes.rounds}, within ${sizes.syncBudgetMs / 1000} s); labsync×N = N relays on one PostgreSQL + Redis, hocuspocus×2 = 2 instances with extension-redis on PostgreSQL (extension-database).`,
    'cpuSecondsPer1kWrites sums every server process: the relays or instances, PostgreSQL (all backends) and Redis; haproxy is balancerCpuSecondsPer1kWrites.',
    'scalingEfficiency = writes/s at N ÷ (N × writes/s at 1). Pinned, every server process shares one CPU, so more relays cannot add CPU: the best it can be is 1/N, and writesPerSecVs1 (1 at best) is what more relays cost there.',
    `loss: ${sizes.lossRooms} rooms x (1 + ${sizes.lossWrites}) writes, all echoed, then SIGKILL of the first instance and of the writers' balancer; fresh clients count through another balancer.`,
    'The host is shared with other test runs: hostLoadAvg* is `uptime`\'s load average at the end of each figure.',
  ]
  return { workload: 'cluster', systems: measured, ratios, notes, details: { rounds: runs } }
}

/** Metric by metric, the median over rounds. */
function medianOf(runs: Metrics[]): Metrics {
  return Object.fromEntries(Object.keys(runs[0]).map((key) => [key, median(runs.map((r) => r[key]))]))
}
