// Workload `rate`: write latency at fixed offered loads, and each system's limit found by stepping
// the load up. The sync workload is a closed loop (each client waits for its echo before its next
// write), where latency is mostly queueing in the load workers. Here the load is fixed per step
// instead: N clients, each on its own order, write on a schedule adding up to R writes/s (open
// loop, latency counted from when each write was due). An unmeasured warm-up, one light step,
// then R from 1,000/s doubling (bisected near the knee) until the p99 passes 50 ms or the server
// falls behind; the highest rate sustained is the system's sustainable rate. For labsync, the disk's own fsync
// distribution is measured beside the light step: the floor under an fsync-before-ack server.
import { loadavg } from 'node:os'
import { dirname } from 'node:path'
import { CLUSTER_REFERENCES, FLOOR, startServer, type SystemName } from '../lib/proc.ts'
import { accounts } from '../lib/relay-api.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { fsyncProbe, type FsyncDistribution } from '../lib/fsync-probe.ts'
import { sustainableRate, type StepPlan } from '../lib/rate-steps.ts'
import { rateRatios, rateNotes, type SystemRun } from '../lib/rate-report.ts'
import { openRateTarget, rateStep, releaseRateTarget, stepUp, warmUp, watchOne, type RateTarget } from '../lib/rate-run.ts'
import type { Metrics, Result } from '../lib/report.ts'
import type { Account } from '../lib/drive.ts'
import { runTag, type Context } from './context.ts'

interface Preset { clients: number; seconds: number; warmUpSeconds: number; lightPerSec: number; plan: StepPlan; fsyncRecords: number }

export async function rate(ctx: Context): Promise<Result> {
  const preset: Preset = ctx.quick
    ? { clients: 200, seconds: 3, warmUpSeconds: 1, lightPerSec: 200, plan: { startPerSec: 1_000, maxPerSec: 16_000, refinements: 1 }, fsyncRecords: 300 }
    : { clients: 500, seconds: 8, warmUpSeconds: 3, lightPerSec: 300, plan: { startPerSec: 1_000, maxPerSec: 64_000, refinements: 2 }, fsyncRecords: 1_000 }
  ctx.log(`rate: ${preset.clients} clients, ${preset.seconds} s per step: ${preset.lightPerSec}/s, then from ${preset.plan.startPerSec}/s doubling until p99 > 50 ms or behind`)
  // The references only in the full run: a quick run has no time to spare for them. The echo
  // floor, and the durable floor (its CPU and p99 against the targets; the Yjs floor adds nothing here).
  const references = (ctx.references ?? (ctx.floor ? [FLOOR] : [])).filter((system) => system !== 'yjs-floor' && !CLUSTER_REFERENCES.includes(system))
  const order = ctx.quick ? ctx.systems : [...ctx.systems, ...references]
  const runs: Record<string, SystemRun> = {}
  for (const system of order) runs[system] = await runSystem(ctx, system, preset)
  const systems = Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, run.metrics]))
  return {
    workload: 'rate',
    systems,
    ratios: rateRatios(runs, preset.lightPerSec),
    notes: rateNotes(runs, preset.lightPerSec),
    details: {
      steps: Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, run.steps])),
      fsync: runs.labsync?.fsync ?? null,
    },
  }
}

async function runSystem(ctx: Context, system: SystemName, preset: Preset): Promise<SystemRun> {
  const server = await startServer(system, { dataDir: ctx.tempDir(`rate-${system}`) })
  let target: RateTarget | undefined
  try {
    const people: Account[] = system === 'labsync'
      ? await accounts(server.url, 8)
      : Array.from({ length: 8 }, (_, i) => ({ userId: `peer-u${i}`, token: HOCUSPOCUS_TOKEN }))
    const customers = Array.from({ length: preset.clients }, (_, i) => people[i % people.length])
    target = await openRateTarget(ctx, `rate ${system}`, `rate-${system}-${runTag()}`, { system, wsUrl: server.wsUrl, customers, prefix: `r${runTag()}` }, watchOne(server.pid))
    const metrics: Metrics = { clients: target.counts.reduce((a, b) => a + b, 0) }
    await warmUp(ctx, target, preset.lightPerSec, preset.warmUpSeconds)
    // The probe right before the light step, next to the data dir: the same disk, the same minute.
    let fsync: FsyncDistribution | undefined
    if (system === 'labsync') {
      fsync = fsyncProbe(dirname(server.dataDir), preset.fsyncRecords)
      Object.assign(metrics, { fsyncP50Ms: fsync.p50Ms, fsyncP99Ms: fsync.p99Ms })
      ctx.log(`rate: disk fsync of ${fsync.records} x 100-byte records: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`)
    }
    const light = await rateStep(ctx, target, preset.lightPerSec, preset.seconds, metrics)
    const steps = await stepUp(ctx, target, preset.plan, preset.seconds, metrics)
    // The light step counts too: a system that sustains nothing above it still sustains that.
    metrics.sustainablePerSec = sustainableRate([light, ...steps])
    metrics.steps = steps.length
    metrics.hostLoadAvg1m = loadavg()[0]
    ctx.log(`rate ${system}: sustains ${metrics.sustainablePerSec}/s (load average ${metrics.hostLoadAvg1m.toFixed(2)})`)
    return { metrics, steps, light, fsync }
  } finally {
    if (target) await releaseRateTarget(ctx, target)
    await server.kill()
  }
}
