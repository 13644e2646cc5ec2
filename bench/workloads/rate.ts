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
import { FLOOR, startServer, watchProc, type ServerProcess, type SystemName } from '../lib/proc.ts'
import { accounts } from '../lib/relay-api.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { mean, percentile } from '../lib/stats.ts'
import { fsyncProbe, type FsyncDistribution } from '../lib/fsync-probe.ts'
import { nextRate, sustainableRate, sustained, type StepPlan } from '../lib/rate-steps.ts'
import { rateRatios, rateNotes, type StepRecord, type SystemRun } from '../lib/rate-report.ts'
import type { Metrics, Result } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import type { Account } from '../lib/drive.ts'
import type { RateStepResult } from '../lib/drive-rate.ts'
import { runTag, type Context } from './context.ts'

interface Preset { clients: number; seconds: number; warmUpSeconds: number; lightPerSec: number; plan: StepPlan; fsyncRecords: number }

export async function rate(ctx: Context): Promise<Result> {
  const preset: Preset = ctx.quick
    ? { clients: 200, seconds: 3, warmUpSeconds: 1, lightPerSec: 200, plan: { startPerSec: 1_000, maxPerSec: 16_000, refinements: 1 }, fsyncRecords: 300 }
    : { clients: 500, seconds: 8, warmUpSeconds: 3, lightPerSec: 300, plan: { startPerSec: 1_000, maxPerSec: 64_000, refinements: 2 }, fsyncRecords: 1_000 }
  ctx.log(`rate: ${preset.clients} clients, ${preset.seconds} s per step: ${preset.lightPerSec}/s, then from ${preset.plan.startPerSec}/s doubling until p99 > 50 ms or behind`)
  // The floor only in the full run: a quick run has no time to spare for a reference.
  const order = ctx.floor && !ctx.quick ? [...ctx.systems, FLOOR] : ctx.systems
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
  const key = `rate-${system}-${runTag()}`
  try {
    const people: Account[] = system === 'labsync'
      ? await accounts(server.url, 8)
      : Array.from({ length: 8 }, (_, i) => ({ userId: `peer-u${i}`, token: HOCUSPOCUS_TOKEN }))
    const customers = Array.from({ length: preset.clients }, (_, i) => people[i % people.length])
    const parts = shares(customers, ctx.workers.size)
    const tag = runTag()
    const opened = await ctx.workers.all<{ opened: number; errors: string[] }>('rate-open', (i) => ({
      key, job: { system, wsUrl: server.wsUrl, customers: parts[i], prefix: `r${tag}w${i}` },
    }), 180_000)
    const openErrors = opened.flatMap((o) => o.errors)
    if (openErrors.length) ctx.log(`rate ${system}: ${openErrors.length} clients failed to open, first: ${openErrors[0]}`)
    const counts = opened.map((o) => o.opened)
    const metrics: Metrics = { clients: counts.reduce((a, b) => a + b, 0) }
    // Unmeasured: the first seconds after 500 connections ran each system's first (light) step
    // slowest, with code still cold and the connections' garbage still to collect.
    await ctx.workers.all<RateStepResult>('rate-step', (i) => ({ key, rate: (preset.lightPerSec * counts[i]) / metrics.clients, seconds: preset.warmUpSeconds }), 120_000)
    // The probe right before the light step, next to the data dir: the same disk, the same minute.
    let fsync: FsyncDistribution | undefined
    if (system === 'labsync') {
      fsync = fsyncProbe(dirname(server.dataDir), preset.fsyncRecords)
      Object.assign(metrics, { fsyncP50Ms: fsync.p50Ms, fsyncP99Ms: fsync.p99Ms })
      ctx.log(`rate: disk fsync of ${fsync.records} x 100-byte records: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`)
    }
    const light = await step(ctx, system, server, key, counts, preset.lightPerSec, preset.seconds, metrics)
    const steps: StepRecord[] = []
    for (let level = nextRate(steps, preset.plan); level !== null; level = nextRate(steps, preset.plan)) {
      steps.push(await step(ctx, system, server, key, counts, level, preset.seconds, metrics))
    }
    // The light step counts too: a system that sustains nothing above it still sustains that.
    metrics.sustainablePerSec = sustainableRate([light, ...steps])
    metrics.steps = steps.length
    metrics.hostLoadAvg1m = loadavg()[0]
    ctx.log(`rate ${system}: sustains ${metrics.sustainablePerSec}/s (load average ${metrics.hostLoadAvg1m.toFixed(2)})`)
    return { metrics, steps, light, fsync }
  } finally {
    await ctx.workers.all('release', () => ({ key }), 30_000).catch(() => undefined)
    await server.kill()
  }
}

/** One offered rate for `seconds`; adds its metrics under `@level` and returns what it measured. */
async function step(ctx: Context, system: SystemName, server: ServerProcess, key: string, counts: number[], level: number, seconds: number, metrics: Metrics): Promise<StepRecord> {
  const total = counts.reduce((a, b) => a + b, 0)
  const watch = watchProc(server.pid)
  const loadWatches = ctx.workers.children.map((child) => watchProc(child.pid!))
  const results = await ctx.workers.all<RateStepResult>('rate-step', (i) => ({
    key, rate: (level * counts[i]) / total, seconds,
  }), (2 * seconds + 60) * 1000)
  const usage = watch.stop()
  const loads = loadWatches.map((w) => w.stop())
  const latencies = results.flatMap((r) => r.latencies)
  const errors = results.flatMap((r) => r.errors)
  const elapsed = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000
  const record: StepRecord = {
    offeredPerSec: level,
    achievedPerSec: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: errors.length,
    cpuSecondsPer1kWrites: (usage.cpuSeconds / Math.max(1, latencies.length)) * 1000,
    serverCpuPercent: usage.cpuPercent,
    serverWaitPercent: usage.waitPercent,
    loadCpuPercent: loads.reduce((a, l) => a + l.cpuPercent, 0),
    loadWaitPercent: mean(loads.map((l) => l.waitPercent)),
    late: results.reduce((a, r) => a + r.late, 0),
    dropped: results.reduce((a, r) => a + r.dropped, 0),
  }
  if (errors.length) ctx.log(`rate ${system}@${level}: ${errors.length} errors, first: ${errors[0]}`)
  Object.assign(metrics, {
    [`p50Ms@${level}`]: record.p50Ms,
    [`p99Ms@${level}`]: record.p99Ms,
    [`achievedPerSec@${level}`]: record.achievedPerSec,
    [`cpuSecondsPer1kWrites@${level}`]: record.cpuSecondsPer1kWrites,
  })
  ctx.log(`rate ${system}@${level}/s: p50 ${record.p50Ms.toFixed(1)} ms, p99 ${record.p99Ms.toFixed(1)} ms, `
    + `achieved ${Math.round(record.achievedPerSec)}/s, server CPU ${usage.cpuPercent.toFixed(0)}% (waited ${usage.waitPercent.toFixed(0)}%), `
    + `load CPU ${record.loadCpuPercent.toFixed(0)}% (waited ${record.loadWaitPercent.toFixed(0)}%)`
    + (record.dropped ? `, ${record.dropped} writes dropped` : '') + (sustained(record) ? '' : ' -> not sustained'))
  return record
}
