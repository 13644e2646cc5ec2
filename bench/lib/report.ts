// Results: bench/results/<name>.json as SPEC.md shapes it, {workload, systems, ratios}, and the
// table printed at the end of a run.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { round } from './stats.ts'
import { describe, type Placement } from './placement.ts'

export type Metrics = Record<string, number>
export interface Result {
  workload: string
  systems: Record<string, Metrics>
  ratios: Record<string, Metrics>
  /** Where the servers and the load ran (bench/run.ts fills it in for every workload). */
  placement?: Placement
  /** Lines printed under the table: what the numbers mean in this run. */
  notes?: string[]
  /** Anything else worth keeping in the JSON (the rate workload's steps, the fsync probe). */
  details?: Record<string, unknown>
}

const RESULTS = join(import.meta.dirname, '..', 'results')

/**
 * `ours` (labsync unless named) ÷ each other system in `systems` for every metric both have. Above
 * 1 means it has more of it: better for throughput, worse for latency, memory and bytes.
 */
export function peerRatios(systems: Record<string, Metrics>, metrics: string[], ours = 'labsync'): Record<string, Metrics> {
  const ratios: Record<string, Metrics> = {}
  const mine = systems[ours]
  if (!mine) return ratios
  for (const [peer, theirs] of Object.entries(systems)) {
    if (peer === ours) continue
    const r: Metrics = {}
    for (const m of metrics) {
      if (typeof mine[m] === 'number' && typeof theirs[m] === 'number' && theirs[m] !== 0) r[m] = round(mine[m] / theirs[m])
    }
    ratios[`${ours}/${peer}`] = r
  }
  return ratios
}

/** measured ÷ target: at or below 1 meets a "less than" target. */
export function targetRatios(measured: Metrics, targets: Metrics): Record<string, Metrics> {
  const r: Metrics = {}
  for (const [m, target] of Object.entries(targets)) if (typeof measured[m] === 'number') r[m] = round(measured[m] / target)
  return { 'labsync/target': r }
}

export function writeResult(result: Result): string {
  mkdirSync(RESULTS, { recursive: true })
  const rounded: Result = {
    workload: result.workload,
    systems: Object.fromEntries(Object.entries(result.systems).map(([s, m]) => [s, roundAll(m)])),
    ratios: result.ratios,
    ...(result.placement && { placement: result.placement }),
    ...(result.notes && { notes: result.notes }),
    ...(result.details && { details: result.details }),
  }
  const file = join(RESULTS, `${result.workload}.json`)
  writeFileSync(file, JSON.stringify(rounded, null, 2) + '\n')
  return file
}

const roundAll = (m: Metrics): Metrics => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]))

function show(value: number | undefined): string {
  if (value === undefined) return ''
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 100_000) return value.toExponential(2)
  if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value))
  if (abs >= 1) return value.toFixed(2)
  return value.toPrecision(3)
}

/** One table per workload: a row per metric, a column per system and per ratio. */
export function table(result: Result): string {
  const columns = [...Object.keys(result.systems), ...Object.keys(result.ratios)]
  const metrics = [...new Set([...Object.values(result.systems), ...Object.values(result.ratios)].flatMap((m) => Object.keys(m)))]
  const cell = (col: string, metric: string) => show((result.systems[col] ?? result.ratios[col])?.[metric])
  const rows = [['', ...columns], ...metrics.map((m) => [m, ...columns.map((c) => cell(c, m))])]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')
  const placement = result.placement ? [`placement: ${describe(result.placement)}`] : []
  return [`== ${result.workload}`, line(rows[0]), ...rows.slice(1).map(line), ...(result.notes ?? []), ...placement].join('\n')
}
