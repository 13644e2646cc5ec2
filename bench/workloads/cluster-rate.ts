// Workload `cluster-rate` (issue 18's target, part of `npm run bench -- --cluster`): the `rate`
// workload's steps (a fixed offered rate, stepped up until the p99 passes 50 ms or the system falls
// behind) through haproxy against Hocuspocus with extension-redis on 2 instances and labsync on 2
// relays in cluster mode (1 and 3 too in a full run); then labsync at twice Hocuspocus's
// sustainable rate, the rate the issue asks it to reach at no worse a p99. CPU per 1,000 writes
// counts every server process: relays or instances, PostgreSQL and Redis (haproxy apart).
import { loadavg } from 'node:os'
import { sampleProc } from '../lib/proc.ts'
import { mean, round } from '../lib/stats.ts'
import { commonRate, keptUp, sustainableRate, sustained, type StepPlan } from '../lib/rate-steps.ts'
import { rateNotes, versus, type SystemRun } from '../lib/rate-report.ts'
import { openRateTarget, rateStep, rateStepTwice, releaseRateTarget, stepUp, warmUp, type ServerWatch } from '../lib/rate-run.ts'
import type { Metrics, Result } from '../lib/report.ts'
import { cpuMeter, startBalancer, untilQuiet, type ClusterProcess } from '../lib/cluster-procs.ts'
import { startClusterSystems, type ClusterSystems } from '../lib/cluster-setup.ts'
import { fsyncProbe } from '../lib/fsync-probe.ts'
import { targetsOf, type Target } from './cluster.ts'
import { runTag, type Context } from './context.ts'

export interface ClusterRateSizes {
  /** Clients at once (one socket and one order each), seconds per step, the warm-up's seconds. */
  clients: number; seconds: number; warmUpSeconds: number
  /** Appends made durable one by one in the probe of the disk before labsync's light step. */
  fsyncRecords: number
  /** The light step's rate (the first measured), then the plan's doubling and bisections. */
  lightPerSec: number; plan: StepPlan
  /** labsync's sizes: relays behind the balancer. */
  relays: number[]
}

/** The label whose figures meet or miss the target: as many relays as Hocuspocus has instances. */
const OURS = 'labsync×2'
const PEER = 'hocuspocus×2'
/** The store floor (servers/store-floor.ts): commit, publish, echo, nothing else; as many as Hocuspocus's instances. */
const FLOORS = 2
const FLOOR_LABEL = `store-floor×${FLOORS}`

export async function clusterRate(ctx: Context): Promise<Result> {
  const sizes: ClusterRateSizes = ctx.quick
    ? { clients: 200, seconds: 3, warmUpSeconds: 1, lightPerSec: 200, plan: { startPerSec: 1_000, maxPerSec: 16_000, refinements: 1 }, relays: [2], fsyncRecords: 300 }
    : { clients: 500, seconds: 8, warmUpSeconds: 3, lightPerSec: 300, plan: { startPerSec: 1_000, maxPerSec: 64_000, refinements: 2 }, relays: [1, 2, 3], fsyncRecords: 1_000 }
  return runClusterRate(ctx, sizes)
}

/** The workload at any size (tests/integration/bench-cluster.test.ts runs it tiny). */
export async function runClusterRate(ctx: Context, sizes: ClusterRateSizes): Promise<Result> {
  ctx.log(`cluster-rate: ${sizes.clients} clients, ${sizes.seconds} s per step: ${sizes.lightPerSec}/s, then from ${sizes.plan.startPerSec}/s doubling until p99 > 50 ms or behind; labsync on ${sizes.relays.join(', ')} relay(s)`)
  const dir = ctx.tempDir('cluster-rate')
  const systems = await startClusterSystems(dir, 8, ctx.log, Math.max(...sizes.relays), ctx.floor ? FLOORS : 0)
  const balancers: ClusterProcess[] = []
  const balance = async (servers: ClusterProcess[]) => { const b = await startBalancer(dir, servers); balancers.push(b); return b }
  try {
    // Hocuspocus first: labsync then also gets a step at twice its sustainable rate.
    const targets = (await targetsOf(ctx, systems, balance, sizes.relays)).sort((a, b) => Number(a.system === 'labsync') - Number(b.system === 'labsync'))
    if (systems.floors.length > 0) targets.push({ label: FLOOR_LABEL, system: 'floor', servers: systems.floors, balancer: await balance(systems.floors), people: systems.people })
    const runs: Record<string, SystemRun> = {}
    const servers = [...systems.relays, ...systems.hocuspocus, ...systems.floors].map((s) => s.pid)
    const everyServer = [...servers, systems.services.postgres.pid, systems.services.redis.pid]
    for (const target of targets) {
      const settled = await untilQuiet(everyServer)
      ctx.log(`cluster-rate: servers ${settled.quiet ? 'quiet' : 'still busy'} after ${(settled.waitedMs / 1000).toFixed(1)} s, starting ${target.label}`)
      const peer = runs[PEER]?.metrics.sustainablePerSec
      runs[target.label] = await runTarget(ctx, systems, target, sizes, target.system !== 'hocuspocus' && peer ? 2 * peer : null, dir)
    }
    return summarize(runs, sizes)
  } finally {
    await Promise.allSettled(balancers.map((b) => b.stop()))
    await systems.close()
  }
}

/** Every server process of the target, PostgreSQL and Redis included; the wait is the relays' or instances'. */
function watchCluster(target: Target, systems: ClusterSystems): ServerWatch {
  const { postgres, redis } = systems.services
  return () => {
    const meter = cpuMeter({ ...Object.fromEntries(target.servers.map((s) => [s.name, s.pid])), postgres: postgres.pid, redis: redis.pid })
    const started = performance.now()
    const waitedBefore = target.servers.map((s) => sampleProc(s.pid).waitSeconds)
    return {
      stop() {
        const byProcess = meter.read()
        const cpuSeconds = Object.values(byProcess).reduce((a, b) => a + b, 0)
        const wall = (performance.now() - started) / 1000
        const waited = target.servers.map((s, i) => sampleProc(s.pid).waitSeconds - waitedBefore[i])
        return { cpuSeconds, cpuPercent: (100 * cpuSeconds) / wall, waitPercent: mean(waited.map((w) => (100 * w) / wall)), byProcess }
      },
    }
  }
}

/** Clients through the target's balancer, the warm-up, the light step, the steps up, and the step at `extraPerSec`. */
async function runTarget(ctx: Context, systems: ClusterSystems, target: Target, sizes: ClusterRateSizes, extraPerSec: number | null, dir: string): Promise<SystemRun> {
  const customers = Array.from({ length: sizes.clients }, (_, i) => target.people[i % target.people.length])
  const tag = runTag()
  const driven = await openRateTarget(ctx, `cluster-rate ${target.label}`, `cluster-rate-${target.label}-${tag}`, {
    system: target.system, wsUrl: target.balancer.url.replace(/^http/, 'ws'), customers, prefix: `q${tag}n${target.servers.length}`,
  }, watchCluster(target, systems))
  try {
    const metrics: Metrics = { instances: target.servers.length, clients: driven.counts.reduce((a, b) => a + b, 0) }
    await warmUp(ctx, driven, sizes.lightPerSec, sizes.warmUpSeconds)
    if (target.system === 'labsync') {
      // labsync echoes after PostgreSQL's commit (fsync on): the disk's own fsync, the same
      // minute, is the floor under its light-step latency (PostgreSQL's data is on this disk too).
      const fsync = fsyncProbe(dir, sizes.fsyncRecords)
      Object.assign(metrics, { fsyncP50Ms: fsync.p50Ms, fsyncP99Ms: fsync.p99Ms })
      ctx.log(`cluster-rate: disk fsync of ${fsync.records} x 100-byte records: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`)
    }
    const light = await rateStep(ctx, driven, sizes.lightPerSec, sizes.seconds, metrics)
    const steps = await stepUp(ctx, driven, sizes.plan, sizes.seconds, metrics)
    if (extraPerSec !== null && ![light, ...steps].some((s) => s.offeredPerSec === extraPerSec)) {
      steps.push(await rateStepTwice(ctx, driven, extraPerSec, sizes.seconds, metrics))
    }
    metrics.sustainablePerSec = sustainableRate([light, ...steps])
    metrics.keptUpPerSec = Math.max(0, ...[light, ...steps].filter(keptUp).map((s) => s.offeredPerSec))
    metrics.steps = steps.length
    // The host is shared: the worst wait of the servers' event loops over the steps, and the load at the end.
    metrics.maxServerWaitPercent = Math.max(...[light, ...steps].map((s) => s.serverWaitPercent))
    metrics.hostLoadAvg1m = loadavg()[0]
    ctx.log(`cluster-rate ${target.label}: sustains ${metrics.sustainablePerSec}/s (load average ${metrics.hostLoadAvg1m.toFixed(2)})`)
    return { metrics, steps, light }
  } finally {
    await releaseRateTarget(ctx, driven)
  }
}

/**
 * Issue 18's target for `ours` against `peer`, each measured ÷ target so that at or below 1 meets
 * it: with H Hocuspocus's sustainable rate, labsync sustains 2H (`2xHocuspocusPerSec/sustainablePerSec`)
 * at a p99 no higher than Hocuspocus's at H (`p99Ms@2xHocuspocus/hocuspocusP99Ms@sustainable`).
 * `meets` is 1 when both hold and the step at 2H was sustained (no errors, ≥ 95% achieved).
 */
export function clusterTarget(ours: SystemRun, peer: SystemRun): Metrics {
  const h = peer.metrics.sustainablePerSec
  if (!(h > 0)) return {}
  const target: Metrics = {}
  if (ours.metrics.sustainablePerSec > 0) target['2xHocuspocusPerSec/sustainablePerSec'] = round((2 * h) / ours.metrics.sustainablePerSec)
  const atTwice = [ours.light, ...ours.steps].find((s) => s.offeredPerSec === 2 * h)
  const theirs = [peer.light, ...peer.steps].find((s) => s.offeredPerSec === h)
  if (atTwice && theirs) target['p99Ms@2xHocuspocus/hocuspocusP99Ms@sustainable'] = round(atTwice.p99Ms / theirs.p99Ms)
  const p99 = target['p99Ms@2xHocuspocus/hocuspocusP99Ms@sustainable']
  target.meets = Number(atTwice !== undefined && sustained(atTwice) && p99 <= 1 && target['2xHocuspocusPerSec/sustainablePerSec'] <= 1)
  return target
}

/**
 * The highest rate both kept up with, p99 aside (`commonKeptUpPerSec`, a rate), and the p99 ratio
 * there: on a host too busy for any step to meet the p99 limit, what is left to compare.
 */
function atCommonKeptUp(ours: SystemRun, peer: SystemRun): Metrics {
  const common = commonRate([ours.light, ...ours.steps], [peer.light, ...peer.steps], keptUp)
  if (common === null) return {}
  return { commonKeptUpPerSec: common, 'p99Ms@commonKeptUp': round(ours.metrics[`p99Ms@${common}`] / peer.metrics[`p99Ms@${common}`]) }
}

function summarize(runs: Record<string, SystemRun>, sizes: ClusterRateSizes): Result {
  const ratios: Record<string, Metrics> = {}
  const peer = runs[PEER]
  if (peer) {
    for (const [label, run] of Object.entries(runs)) if (label !== PEER) ratios[`${label}/${PEER}`] = { ...versus(run, peer), ...atCommonKeptUp(run, peer) }
    if (runs[OURS]) ratios['labsync/target'] = clusterTarget(runs[OURS], peer)
    if (runs[FLOOR_LABEL]) ratios['store-floor/target'] = clusterTarget(runs[FLOOR_LABEL], peer)
  }
  if (runs[OURS] && runs[FLOOR_LABEL]) ratios[`${OURS}/${FLOOR_LABEL}`] = versus(runs[OURS], runs[FLOOR_LABEL])
  const h = peer?.metrics.sustainablePerSec
  const notes = [
    `rate through haproxy (deploy/haproxy.cfg, plain HTTP): ${sizes.clients} clients each on its own order, ${sizes.seconds} s per step, `
      + `${sizes.lightPerSec}/s then from ${sizes.plan.startPerSec}/s doubling (${sizes.plan.refinements} bisection(s) near the knee)`
      + (h ? `, and labsync at 2 x Hocuspocus's sustainable rate (${2 * h}/s)` : '') + '. One pass per target, Hocuspocus first.',
    `labsync×N = N relays on one PostgreSQL + Redis; ${PEER} = 2 instances with extension-redis on PostgreSQL (extension-database).`,
    'cpuSecondsPer1kWrites@R sums every server process: the relays or instances, PostgreSQL (all backends) and Redis; not haproxy.',
    `labsync/target (issue 18, ${OURS} vs ${PEER}): at or below 1 meets; meets = 1 when labsync sustained twice Hocuspocus's rate at no higher a p99 than Hocuspocus's at its own`
      + (h || !peer ? '.' : `; empty: ${PEER} sustained no step (p99 <= 50 ms), so there is no limit of its to double. keptUpPerSec and p99Ms@commonKeptUp compare what is left (the highest rate each kept up with, p99 aside).`),
    ...(runs[FLOOR_LABEL] ? [`${FLOOR_LABEL} (a reference, not a product): servers/store-floor.ts keeps no document and checks nothing, it commits each update through labsync's PgDocStore, publishes it through RedisFanout and echoes it; `
      + `store-floor/target is issue 18's target applied to it: where even it misses, no server that echoes only what PostgreSQL committed meets the target on this host.`] : []),
    'The host is shared with other test runs: "waited" (the servers\' event loops ready but without a CPU) and "load avg" (uptime) are recorded with every step.',
    ...rateNotes(runs, sizes.lightPerSec),
  ]
  return {
    workload: 'cluster-rate',
    systems: Object.fromEntries(Object.entries(runs).map(([label, run]) => [label, run.metrics])),
    ratios,
    notes,
    details: { steps: Object.fromEntries(Object.entries(runs).map(([label, run]) => [label, [run.light, ...run.steps]])) },
  }
}
