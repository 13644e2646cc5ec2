// The two loops the lab node runs around a Printer: following a job to its end, and retrying
// what may work later (an unreachable or stopped printer) with exponential backoff and jitter.
import { setTimeout as sleep } from 'node:timers/promises'
import { FINAL_JOB_STATES } from './printer.ts'
import type { JobStatus, Printer, PrinterDescription } from './printer.ts'
import { JobFollowTimeoutError, PrinterStoppedError, PrinterUnreachableError, RetriesExhaustedError } from './errors.ts'

export interface FollowOptions {
  /** Pause between two jobStatus calls; default 1000 ms. */
  pollMs?: number
  /** Give up (JobFollowTimeoutError) when the job has not ended after this long. */
  timeoutMs: number
  signal?: AbortSignal
  /** Called with the first status and with every change of state or reasons. */
  onState?: (status: JobStatus) => void
  now?: () => number
}

/**
 * Polls jobStatus until the job is completed, aborted or canceled, and returns that status:
 * an aborted job is a result, not an error. A printer that is unreachable for a while does not
 * end the follow (the job lives on the printer); any other error does. Rejects with
 * JobFollowTimeoutError after `timeoutMs`, or with the signal's reason when it aborts.
 */
export async function followJob(printer: Printer, jobId: string, options: FollowOptions): Promise<JobStatus> {
  const { pollMs = 1000, timeoutMs, signal, onState, now = Date.now } = options
  const deadline = now() + timeoutMs
  let last: JobStatus | undefined
  let lastError: unknown
  for (;;) {
    signal?.throwIfAborted()
    try {
      const status = await printer.jobStatus(jobId)
      lastError = undefined
      if (!last || status.state !== last.state || status.reasons.join() !== last.reasons.join()) onState?.(status)
      last = status
      if (FINAL_JOB_STATES.has(status.state)) return status
    } catch (error) {
      if (!(error instanceof PrinterUnreachableError)) throw error
      lastError = error
    }
    const left = deadline - now()
    if (left <= 0) throw new JobFollowTimeoutError(printer.uri, jobId, timeoutMs, last?.state, { cause: lastError })
    await pause(Math.min(pollMs, left), signal)
  }
}

export interface RetryOptions {
  /** Tries in all, the first included; default 5. */
  attempts?: number
  /** Ceiling of the first pause; it doubles after each failure up to `maxMs`. Default 500 ms. */
  baseMs?: number
  maxMs?: number
  /** Called before each pause; awaited, so a caller can act between attempts. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void | Promise<void>
  signal?: AbortSignal
  /** In [0, 1); default Math.random. */
  random?: () => number
}

/** The failures that may go away by themselves: an unreachable or stopped printer. */
export function isRetryable(error: unknown): boolean {
  return error instanceof PrinterUnreachableError || error instanceof PrinterStoppedError
}

/**
 * Runs `fn` until it resolves, retrying only isRetryable() failures, with pauses drawn from
 * [ceiling/2, ceiling) where the ceiling doubles from baseMs to maxMs (jitter keeps lab nodes
 * that lost the same printer from hammering it in step). Any other error is thrown at once;
 * after `attempts` tries it throws RetriesExhaustedError saying how many and why.
 * Do not wrap a bare submit(): a failed submit may have printed; reconcile with findJobs first.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, baseMs = 500, maxMs = 30_000, onRetry, signal, random = Math.random } = options
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    try {
      return await fn(attempt)
    } catch (error) {
      if (!isRetryable(error)) throw error
      if (attempt >= attempts) throw new RetriesExhaustedError(attempt, error)
      const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
      const delayMs = Math.round(ceiling / 2 + (random() * ceiling) / 2)
      await onRetry?.({ attempt, delayMs, error })
      await pause(delayMs, signal)
    }
  }
}

/** Sleeps; an abort rejects with the signal's reason, as throwIfAborted() does, not an AbortError. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal })
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    throw error
  }
}

/** describe(), except that a stopped printer is PrinterStoppedError, which withRetry waits out. */
export async function describeRunning(printer: Printer): Promise<PrinterDescription> {
  const description = await printer.describe()
  if (description.state === 'stopped') throw new PrinterStoppedError(printer.uri, description.stateReasons)
  return description
}
