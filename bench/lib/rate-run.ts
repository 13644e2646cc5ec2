// The rate workload's driving side, shared by `rate` (one server) and `cluster-rate` (a balancer in
// front of several servers): clients opened in the load workers, an unmeasured warm-up, one step
// at a fixed offered rate, and the stepping up until the limit (rate-steps.ts decides the rates).
import { loadavg } from 'node:os'
import { watchProc, type SystemName } from './proc.ts'
import { mean, percentile } from './stats.ts'
import { betterOfTwo, nextRate, sustained, type StepPlan } from './rate-steps.ts'
import type { StepRecord } from './rate-report.ts'
import type { Metrics } from './report.ts'
import { shares } from './workers.ts'
import type { Account } from './drive.ts'
import { SLOW_MS, type RateStepResult } from './drive-rate.ts'
import type { Context } from '../workloads/context.ts'

/** What the server side used during a step: every process of it together. */
export interface ServerUsage {
  cpuSeconds: number
  cpuPercent: number
  /** Share of the step the server's event loop(s) were ready to run but had no CPU (averaged). */
  waitPercent: number
  /** CPU seconds of each process watched, by name, when there are several (cluster-rate). */
  byProcess?: Record<string, number>
  /** Read and write system calls of each process watched (cluster-rate). */
  syscallsByProcess?: Record<string, number>
}

/** Starts watching the server side; stop() returns what it used since. */
export type ServerWatch = () => { stop(): ServerUsage }

/** One system being driven: its clients live in the load workers under `key`. */
export interface RateTarget {
  /** Prefix of its log lines: `rate labsync`, `cluster-rate labsync×2`. */
  label: string
  key: string
  /** Clients each worker opened. */
  counts: number[]
  watch: ServerWatch
}

/** A single process's usage (its main thread's wait), as the one-server `rate` measures it. */
export const watchOne = (pid: number): ServerWatch => () => watchProc(pid)

/**
 * Opens `customers.length` clients, shared out over the load workers, each on its own order
 * (created and echoed, not measured). Clients that fail to open are logged and left out.
 */
export async function openRateTarget(ctx: Context, label: string, key: string, job: { system: SystemName; wsUrl: string; customers: Account[]; prefix: string }, watch: ServerWatch): Promise<RateTarget> {
  const parts = shares(job.customers, ctx.workers.size)
  const opened = await ctx.workers.all<{ opened: number; errors: string[] }>('rate-open', (i) => ({
    key, job: { system: job.system, wsUrl: job.wsUrl, customers: parts[i], prefix: `${job.prefix}w${i}` },
  }), 180_000)
  const errors = opened.flatMap((o) => o.errors)
  if (errors.length) ctx.log(`${label}: ${errors.length} clients failed to open, first: ${errors[0]}`)
  return { label, key, counts: opened.map((o) => o.opened), watch }
}

/** Closes the target's clients in every worker. */
export async function releaseRateTarget(ctx: Context, target: RateTarget): Promise<void> {
  await ctx.workers.all('release', () => ({ key: target.key }), 30_000).catch(() => undefined)
}

const clientsOf = (target: RateTarget) => target.counts.reduce((a, b) => a + b, 0)

/**
 * Unmeasured: the first seconds after hundreds of connections ran each system's first (light)
 * step slowest, with code still cold and the connections' garbage still to collect.
 */
export async function warmUp(ctx: Context, target: RateTarget, rate: number, seconds: number): Promise<void> {
  const total = clientsOf(target)
  await ctx.workers.all<RateStepResult>('rate-step', (i) => ({ key: target.key, rate: (rate * target.counts[i]) / total, seconds }), 120_000)
}

/** One offered rate for `seconds`; adds its metrics under `@level` and returns what it measured. */
export async function rateStep(ctx: Context, target: RateTarget, level: number, seconds: number, metrics: Metrics): Promise<StepRecord> {
  const total = clientsOf(target)
  const watch = target.watch()
  const loadWatches = ctx.workers.children.map((child) => watchProc(child.pid!))
  const results = await ctx.workers.all<RateStepResult>('rate-step', (i) => ({
    key: target.key, rate: (level * target.counts[i]) / total, seconds,
  }), (2 * seconds + 60) * 1000)
  const usage = watch.stop()
  const [hostLoad] = loadavg()
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
    hostLoadAvg1m: hostLoad,
  }
  if (usage.byProcess) {
    const per1k = 1000 / Math.max(1, latencies.length)
    record.cpuSecondsPer1kWritesByProcess = Object.fromEntries(Object.entries(usage.byProcess).map(([name, s]) => [name, round3(s * per1k)]))
  }
  if (usage.syscallsByProcess) {
    const perWrite = 1 / Math.max(1, latencies.length)
    record.syscallsPerWriteByProcess = Object.fromEntries(Object.entries(usage.syscallsByProcess).map(([name, n]) => [name, round3(n * perWrite)]))
  }
  if (errors.length) ctx.log(`${target.label}@${level}: ${errors.length} errors, first: ${errors[0]}`)
  const slow = slowWrites(results)
  if (slow) ctx.log(`${target.label}@${level}/s: ${slow}`)
  recordStep(metrics, record)
  ctx.log(`${target.label}@${level}/s: p50 ${record.p50Ms.toFixed(1)} ms, p99 ${record.p99Ms.toFixed(1)} ms, `
    + `achieved ${Math.round(record.achievedPerSec)}/s, server CPU ${usage.cpuPercent.toFixed(0)}% (waited ${usage.waitPercent.toFixed(0)}%), `
    + `load CPU ${record.loadCpuPercent.toFixed(0)}% (waited ${record.loadWaitPercent.toFixed(0)}%), load average ${hostLoad.toFixed(2)}`
    + (record.dropped ? `, ${record.dropped} writes dropped` : '')
    + (record.cpuSecondsPer1kWritesByProcess ? `, CPU s/1k writes ${Object.entries(record.cpuSecondsPer1kWritesByProcess).map(([n, s]) => `${n} ${s}`).join(' ')}` : '')
    + (record.syscallsPerWriteByProcess ? `, syscalls/write ${Object.entries(record.syscallsPerWriteByProcess).map(([n, c]) => `${n} ${c}`).join(' ')}` : '') + (sustained(record) ? '' : ' -> not sustained'))
  return record
}

/** A step's figures under its rate in the system's metrics (`p99Ms@1000`, …). */
function recordStep(metrics: Metrics, record: StepRecord): void {
  const level = record.offeredPerSec
  Object.assign(metrics, {
    [`p50Ms@${level}`]: record.p50Ms,
    [`p99Ms@${level}`]: record.p99Ms,
    [`achievedPerSec@${level}`]: record.achievedPerSec,
    [`cpuSecondsPer1kWrites@${level}`]: record.cpuSecondsPer1kWrites,
  })
}

/**
 * One step, run once more when it was not sustained; the better of the two counts (sustained, else
 * the lower p99) and `tries` says 2. On this shared host one stall of the disk or of a neighbour
 * (a 0.5–1 s commit was seen with every event loop idle) fails a step by itself: every system
 * gets the same second chance, so a limit is where a system fails twice running, not once by luck.
 */
export async function rateStepTwice(ctx: Context, target: RateTarget, level: number, seconds: number, metrics: Metrics): Promise<StepRecord> {
  const first = await rateStep(ctx, target, level, seconds, metrics)
  if (sustained(first)) return first
  ctx.log(`${target.label}@${level}/s: not sustained, run once more`)
  const second = await rateStep(ctx, target, level, seconds, metrics)
  const better = betterOfTwo(first, second)
  recordStep(metrics, better)
  return { ...better, tries: 2, otherP99Ms: (better === first ? second : first).p99Ms }
}

/** The rates `plan` asks for, one step each (twice when not sustained), until the limit is found (the light step apart). */
export async function stepUp(ctx: Context, target: RateTarget, plan: StepPlan, seconds: number, metrics: Metrics): Promise<StepRecord[]> {
  const steps: StepRecord[] = []
  for (let level = nextRate(steps, plan); level !== null; level = nextRate(steps, plan)) {
    steps.push(await rateStepTwice(ctx, target, level, seconds, metrics))
  }
  return steps
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000

/**
 * Where in a step its slow writes were due (a stall of the whole system, or a few clients stuck),
 * as "N writes over SLOW_MS from C clients of worker 0, …; due 1.2-1.9 s into the step (… per 250 ms)".
 */
function slowWrites(results: RateStepResult[]): string | null {
  const slow = results.flatMap((r, worker) => r.slow.map(([due, latency, client]) => ({ due, latency, who: `${worker}:${client}` })))
  if (slow.length === 0) return null
  const clients = new Set(slow.map((s) => s.who)).size
  const buckets = new Map<number, number>()
  for (const { due } of slow) {
    const bucket = Math.floor(due / 250)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
  }
  const busiest = [...buckets.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).sort((a, b) => a[0] - b[0])
  const worst = Math.max(...slow.map((s) => s.latency))
  return `${slow.length} writes over ${SLOW_MS} ms (worst ${worst} ms) from ${clients} clients; due ${(Math.min(...slow.map((s) => s.due)) / 1000).toFixed(2)}-${(Math.max(...slow.map((s) => s.due)) / 1000).toFixed(2)} s into the step; `
    + `most per 250 ms: ${busiest.map(([b, n]) => `${(b / 4).toFixed(2)} s: ${n}`).join(', ')}`
}
