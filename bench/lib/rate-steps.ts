// The `rate` workload's search for each system's limit: which offered rate to try next, whether a
// step was sustained, and what the steps add up to. Pure, so the rules can be tested alone.

/** A step is sustained while its p99 stays at or under this... */
export const P99_LIMIT_MS = 50
/** ...and the server keeps up: achieved at least this share of what was offered. */
export const ACHIEVED_MIN = 0.95

export interface StepOutcome {
  offeredPerSec: number
  achievedPerSec: number
  p99Ms: number
  errors: number
}

export interface StepPlan {
  /** The first rate tried; then doubling. */
  startPerSec: number
  /** No step above this (the run must end however fast the server is). */
  maxPerSec: number
  /** Bisections between the last sustained and the first failed rate, "finer near the knee". */
  refinements: number
}

export function sustained(step: StepOutcome): boolean {
  return step.errors === 0 && step.p99Ms <= P99_LIMIT_MS && step.achievedPerSec >= ACHIEVED_MIN * step.offeredPerSec
}

/**
 * The server kept up, whatever the p99: no errors and at least ACHIEVED_MIN of the offered rate.
 * On a host so busy that no step meets the p99 limit, this still shows where each system falls behind.
 */
export function keptUp(step: StepOutcome): boolean {
  return step.errors === 0 && step.achievedPerSec >= ACHIEVED_MIN * step.offeredPerSec
}

/** A rate rounded to 50/s below 1,000/s and to 250/s above, so every system meets the same steps. */
function nice(rate: number): number {
  const unit = rate < 1_000 ? 50 : 250
  return Math.max(unit, Math.round(rate / unit) * unit)
}

/**
 * The next rate to offer after `steps` (in the order they ran), or null when the limit is found:
 * doubling from the start until a step fails, then `refinements` bisections between the highest
 * sustained rate below the lowest failed one (0 if none) and that failed one.
 */
export function nextRate(steps: StepOutcome[], plan: StepPlan): number | null {
  if (steps.length === 0) return plan.startPerSec
  const failed = steps.filter((s) => !sustained(s)).map((s) => s.offeredPerSec)
  if (failed.length === 0) {
    const next = Math.max(...steps.map((s) => s.offeredPerSec)) * 2
    return next <= plan.maxPerSec ? next : null
  }
  const firstFailure = steps.findIndex((s) => !sustained(s))
  if (steps.length - 1 - firstFailure >= plan.refinements) return null
  const high = Math.min(...failed)
  const low = Math.max(0, ...steps.filter((s) => sustained(s) && s.offeredPerSec < high).map((s) => s.offeredPerSec))
  const middle = nice((low + high) / 2)
  return middle > low && middle < high && !steps.some((s) => s.offeredPerSec === middle) ? middle : null
}

/** The highest offered rate sustained (0 when none was). */
export function sustainableRate(steps: StepOutcome[]): number {
  return Math.max(0, ...steps.filter(sustained).map((s) => s.offeredPerSec))
}

/** The highest rate that both systems were offered and both sustained (or passed `ok`), or null. */
export function commonRate(ours: StepOutcome[], theirs: StepOutcome[], ok: (step: StepOutcome) => boolean = sustained): number | null {
  const theirsOk = new Set(theirs.filter(ok).map((s) => s.offeredPerSec))
  const both = ours.filter((s) => ok(s) && theirsOk.has(s.offeredPerSec)).map((s) => s.offeredPerSec)
  return both.length ? Math.max(...both) : null
}

/**
 * Of a step run twice (the first not sustained), the one that counts: the second if it was
 * sustained or had the lower p99, else the first. A limit is where a system fails twice running.
 */
export function betterOfTwo<T extends StepOutcome>(first: T, second: T): T {
  return sustained(second) || second.p99Ms < first.p99Ms ? second : first
}
