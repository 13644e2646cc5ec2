// One printer's share of an order (its "lane"): the items whose media that printer holds, sent one
// after another in the printer's turn. An item whose media no printer holds waits for one; a
// printer that is stopped, paused or out of paper holds only its own lane; the other lanes go on.
import { setTimeout as sleep } from 'node:timers/promises'
import type { OrderSpec } from '../shared/schema.ts'
import type { Printer, PrinterDescription, JobStatus } from './printers/printer.ts'
import { followJob, isRetryable } from './printers/follow.ts'
import { JobFollowTimeoutError, PrinterError, RetriesExhaustedError } from './printers/errors.ts'
import { notReadyReason, waitUntilReady } from './printers/readiness.ts'
import type { PrintContext } from './print-order.ts'
import { HELD_REASON } from './print-order.ts'

/** What a lane needs from the order it belongs to (print-order.ts OrderRun). */
export interface LaneHost {
  readonly ctx: PrintContext
  readonly orderId: string
  /** Aborted when the order stops: the operator's skip, or another lane's failure. */
  readonly signal: AbortSignal
  /** Sets (or clears, with null) why this lane waits; the order's progress says it. */
  waiting(lane: string, why: string | null): void
  /** Why no further job may be sent (a cancel, a skip), or null. */
  stopReason(): string | null
}

/** The first printer holding `media`; until one does, the lane waits ("no printer holds <media>"), asking the printers again. */
export async function routeOrWait(host: LaneHost, media: string): Promise<Printer> {
  const { ctx, orderId } = host
  const poll = ctx.holdPoll ?? { baseMs: 500, maxMs: 5_000 }
  let pauseMs = poll.baseMs
  let logged = false
  for (;;) {
    const printer = await ctx.fleet.route(media)
    if (printer) {
      if (logged) ctx.log(`order ${orderId}: printer ${printer.uri} holds ${media}; resuming`)
      host.waiting(media, null)
      return printer
    }
    const stop = host.stopReason()
    if (stop) throw new LaneStoppedError(stop)
    if (!logged) ctx.log(`order ${orderId}: held: no printer holds ${media}; ${HELD_REASON}`)
    logged = true
    host.waiting(media, `no printer holds ${media}`)
    await sleep(pauseMs, undefined, { signal: host.signal })
    pauseMs = Math.min(pauseMs * 2, poll.maxMs)
    await ctx.fleet.refreshAll()
  }
}

/**
 * The printer's description once it is ready, however long that takes: meanwhile this lane's
 * reason is set (the order is `held`, or `printing` once a job of it may be at a printer), logged
 * once per new reason. A cancel, a skip or another lane's failure ends the wait.
 */
export async function waitForPrinter(host: LaneHost, printer: Printer, media: string): Promise<{ description: PrinterDescription; held: boolean }> {
  const { ctx, orderId } = host
  let held = false
  const hold = ctx.holdPoll ?? { baseMs: 500, maxMs: 5_000 }
  const several = ctx.fleet.printers.length > 1
  const description = await waitUntilReady(printer, {
    pollMs: hold.baseMs, maxPollMs: hold.maxMs, signal: host.signal, stop: () => host.stopReason(),
    onDescribed: (description) => {
      ctx.fleet.noted(printer, description)
      if (!description.media.includes(media)) throw new RerouteError(`printer ${printer.uri} does not hold ${media}`)
    },
    onWaiting: (why) => {
      held = true
      ctx.log(`order ${orderId}: held: printer not ready (${why}); ${HELD_REASON}${several ? ` on ${printer.uri}` : ''}`)
      host.waiting(printer.uri, why)
    },
  })
  if (held) {
    host.waiting(printer.uri, null)
    ctx.log(`order ${orderId}: printer ready; resuming${several ? ` on ${printer.uri}` : ''}`)
  }
  return { description, held }
}

/**
 * Follows a job to its end. A job the printer holds or has stopped (paused, out of paper) is
 * waited for as long as that lasts: the follow's deadline only ends a job a ready printer does not finish.
 */
export async function followToEnd(host: LaneHost, printer: Printer, jobId: string, onChange: (stalled: string | null) => void): Promise<JobStatus> {
  const { ctx } = host
  for (;;) {
    try {
      return await followJob(printer, jobId, {
        pollMs: 250, timeoutMs: ctx.jobTimeoutMs ?? 15 * 60_000, signal: host.signal,
        onState: (status) => {
          const stalled = status.state === 'stopped' || status.state === 'held'
          const why = `job ${jobId} ${status.state}${status.reasons.length ? ` (${status.reasons.join(', ')})` : ''}`
          if (stalled) ctx.log(`order ${host.orderId}: ${why}; ${HELD_REASON}`)
          onChange(stalled ? why : null)
        },
      })
    } catch (error) {
      if (!(error instanceof JobFollowTimeoutError)) throw error
      const stalled = error.lastState === 'stopped' || error.lastState === 'held' || (await printerNotReady(printer)) !== null
      if (!stalled) throw error
    }
  }
}

async function printerNotReady(printer: Printer): Promise<string | null> {
  try {
    return notReadyReason(await printer.describe())
  } catch (error) {
    if (error instanceof PrinterError) return error.message
    throw error
  }
}

/** The order's items grouped by their product's media, in item order; items of unknown products are left out. */
export function lanesByMedia(spec: OrderSpec, catalog: PrintContext['catalog'], indexes: number[]): Map<string, number[]> {
  const lanes = new Map<string, number[]>()
  for (const index of indexes) {
    const media = catalog.products.find((p) => p.id === spec.items[index].product)?.media
    if (!media) continue
    lanes.set(media, [...(lanes.get(media) ?? []), index])
  }
  return lanes
}

/** Why the printer routed to cannot take the item, checked before anything is sent; null when it can. */
export function unsupportedReason(printer: Printer, description: PrinterDescription): string | null {
  // application/octet-stream: the printer senses the format itself (RFC 8011 5.4.22), JPEG included.
  if (!description.formats.includes('image/jpeg') && !description.formats.includes('application/octet-stream')) return `the printer ${printer.uri} does not accept JPEG (it takes ${description.formats.join(', ')})`
  return null
}

/** A failure that is the printer's state, not the job's: waited out, never counted against the order. */
export function waitable(error: unknown): boolean {
  return isRetryable(error) || (error instanceof RetriesExhaustedError && isRetryable(error.lastError))
}

/** The printer a lane waited at answered without the lane's media: the lane is routed again. */
export class RerouteError extends Error {
  override name = 'RerouteError'
}

/** A lane stopped waiting because the order must stop (a cancel, a skip). */
export class LaneStoppedError extends Error {
  override name = 'LaneStoppedError'
}
