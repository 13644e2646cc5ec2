// What the `rate` workload's steps add up to: ratios between systems (sustainable rate, p99 and
// CPU per write at the highest rate both sustain), the issue's targets, and lines to read them by.
import type { FsyncDistribution } from './fsync-probe.ts'
import type { Metrics } from './report.ts'
import { ACHIEVED_MIN, commonRate, P99_LIMIT_MS, sustained, type StepOutcome } from './rate-steps.ts'
import { round } from './stats.ts'

/** One step as measured: the outcome the limit search judges, and what shows who was the limit. */
export interface StepRecord extends StepOutcome {
  p50Ms: number
  cpuSecondsPer1kWrites: number
  serverCpuPercent: number
  /** Share of the step the server's event loop was ready but waiting for a CPU. */
  serverWaitPercent: number
  /** The load workers' CPU, summed, and their wait for a CPU, averaged. */
  loadCpuPercent: number
  loadWaitPercent: number
  /** Writes sent after they were due (the client was still waiting), and never sent (past the grace period). */
  late: number
  dropped: number
  /** `uptime`'s 1-minute load average at the step's end: this host is shared. */
  hostLoadAvg1m?: number
  /** cpuSecondsPer1kWrites split by server process (cluster-rate: each relay or instance, postgres, redis). */
  cpuSecondsPer1kWritesByProcess?: Record<string, number>
  /** Read and write system calls per write, by server process (cluster-rate). */
  syscallsPerWriteByProcess?: Record<string, number>
  /** 2 when the step was run again after it was not sustained (rateStepTwice); the other run's p99. */
  tries?: number
  otherP99Ms?: number
}

export interface SystemRun { metrics: Metrics; steps: StepRecord[]; light: StepRecord; fsync?: FsyncDistribution }

/** The issue's rate targets (issue 19). */
export const TARGETS = { sustainableVsHocuspocus: 2, p99AtCommonVsHocuspocus: 0.5, lightP99OverFsyncP99Ms: 2, cpuPer1kWritesVsHocuspocus: 1 }

const PER_STEP = /^(p50Ms|p99Ms|cpuSecondsPer1kWrites)@\d+$/

/**
 * `ours` ÷ `theirs` for every per-step metric both have and the sustainable rate, plus, at
 * `commonRatePerSec` (the highest rate both sustained, the light step included; a rate, not a
 * ratio), `p99Ms@common` and `cpuSecondsPer1kWrites@common`.
 */
export function versus(ours: SystemRun, theirs: SystemRun): Metrics {
  const keys = [...Object.keys(ours.metrics).filter((k) => PER_STEP.test(k)), 'sustainablePerSec']
  const r: Metrics = {}
  for (const m of keys) {
    if (typeof ours.metrics[m] === 'number' && typeof theirs.metrics[m] === 'number' && theirs.metrics[m] !== 0) r[m] = round(ours.metrics[m] / theirs.metrics[m])
  }
  const common = commonRate([ours.light, ...ours.steps], [theirs.light, ...theirs.steps])
  if (common !== null) {
    r.commonRatePerSec = common
    r['p99Ms@common'] = round(ours.metrics[`p99Ms@${common}`] / theirs.metrics[`p99Ms@${common}`])
    r['cpuSecondsPer1kWrites@common'] = round(ours.metrics[`cpuSecondsPer1kWrites@${common}`] / theirs.metrics[`cpuSecondsPer1kWrites@${common}`])
  }
  return r
}

/**
 * `labsync/<peer>` (versus() each other system) and `labsync/target`, each measured ÷ target so
 * that at or below 1 meets it (the sustainable rate inverted: 2 x Hocuspocus's ÷ labsync's). The
 * durable floor (a reference, bench/servers/yjs-floor.ts) gets the same `durable-floor/hocuspocus`
 * and `durable-floor/target`: a target it misses is out of reach for a server that applies its
 * writes with Yjs and echoes only committed ones.
 */
export function rateRatios(runs: Record<string, SystemRun>, lightPerSec: number): Record<string, Metrics> {
  const ratios: Record<string, Metrics> = {}
  const ours = runs.labsync
  if (ours) {
    for (const [peer, theirs] of Object.entries(runs)) if (peer !== 'labsync') ratios[`labsync/${peer}`] = versus(ours, theirs)
    ratios['labsync/target'] = targets(ours, runs, lightPerSec)
  }
  const durable = runs['durable-floor']
  if (durable && runs.hocuspocus) {
    ratios['durable-floor/hocuspocus'] = versus(durable, runs.hocuspocus)
    ratios['durable-floor/target'] = targets(durable, runs, lightPerSec)
  }
  return ratios
}

/** Issue 19's rate targets for `ours`, measured ÷ target (at or below 1 meets). */
function targets(ours: SystemRun, runs: Record<string, SystemRun>, lightPerSec: number): Metrics {
  const target: Metrics = {}
  const hocus = runs.hocuspocus ? versus(ours, runs.hocuspocus) : undefined
  if (runs.hocuspocus && ours.metrics.sustainablePerSec > 0) {
    target['2xHocuspocusPerSec/sustainablePerSec'] = round((TARGETS.sustainableVsHocuspocus * runs.hocuspocus.metrics.sustainablePerSec) / ours.metrics.sustainablePerSec)
  }
  if (hocus?.['p99Ms@common'] !== undefined) {
    target['p99Ms@common'] = round(hocus['p99Ms@common'] / TARGETS.p99AtCommonVsHocuspocus)
    target['cpuSecondsPer1kWrites@common'] = round(hocus['cpuSecondsPer1kWrites@common'] / TARGETS.cpuPer1kWritesVsHocuspocus)
  }
  // The disk's fsync is measured once, beside labsync's light step.
  const fsync = runs.labsync?.fsync
  if (fsync) target[`p99Ms@${lightPerSec}`] = round(ours.light.p99Ms / (fsync.p99Ms + TARGETS.lightP99OverFsyncP99Ms))
  return target
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n))

/** One line per system with its steps, then the fsync beside labsync's light p99, then the floor's meaning. */
export function rateNotes(runs: Record<string, SystemRun>, lightPerSec: number): string[] {
  const notes = [`steps (sustained: p99 <= ${P99_LIMIT_MS} ms and achieved >= ${ACHIEVED_MIN * 100}% of offered, no errors; `
    + `"waited": share of the step the process's event loop was ready to run but had no CPU):`]
  for (const [name, run] of Object.entries(runs)) {
    notes.push(`  ${name}: sustains ${run.metrics.sustainablePerSec}/s`)
    for (const s of [run.light, ...run.steps]) {
      notes.push(`    ${String(s.offeredPerSec).padStart(6)}/s ${sustained(s) ? 'ok' : 'NO'}  p99 ${fixed(s.p99Ms).padStart(7)} ms  achieved ${String(Math.round(s.achievedPerSec)).padStart(6)}/s  `
        + `server CPU ${fixed(s.serverCpuPercent, 0).padStart(3)}% (waited ${fixed(s.serverWaitPercent, 0)}%)  load CPU ${fixed(s.loadCpuPercent, 0).padStart(3)}% (waited ${fixed(s.loadWaitPercent, 0)}%)`
        + (s.hostLoadAvg1m === undefined ? '' : `  load avg ${fixed(s.hostLoadAvg1m, 2)}`)
        + (s === run.light ? '  (light step)' : '')
        + (s.tries === 2 ? `  (run twice; the other run's p99 ${fixed(s.otherP99Ms!)} ms)` : ''))
    }
  }
  const ours = runs.labsync
  if (ours?.fsync) {
    const f = ours.fsync
    notes.push(`disk: fdatasync of a 100-byte append p50 ${fixed(f.p50Ms, 2)} ms, p99 ${fixed(f.p99Ms, 2)} ms (${f.records} records); `
      + `labsync at ${lightPerSec}/s: p50 ${fixed(ours.metrics[`p50Ms@${lightPerSec}`], 2)} ms, p99 ${fixed(ours.light.p99Ms, 2)} ms `
      + `(target <= fsync p99 + ${TARGETS.lightP99OverFsyncP99Ms} ms = ${fixed(f.p99Ms + TARGETS.lightP99OverFsyncP99Ms, 2)} ms)`)
  }
  const floor = runs.floor
  if (floor) {
    const bounded = Object.entries(runs).filter(([name, run]) => name !== 'floor' && run.metrics.sustainablePerSec >= floor.metrics.sustainablePerSec).map(([name]) => name)
    notes.push(`floor sustains ${floor.metrics.sustainablePerSec}/s: the load workers' own limit`
      + (bounded.length ? `; ${bounded.join(', ')} reached it, so their rate is bounded by the load, not measured` : ''))
  }
  return notes
}
