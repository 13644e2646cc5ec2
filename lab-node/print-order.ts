// Prints one order: checks it is assigned here and printable, renders each item, sends it with
// intent journaled first, follows the job to its end, and writes `progress` into the order.
// Whatever goes wrong with the order itself (a spec the lab cannot read, an unknown product, a
// photo or template that does not render, a throw anywhere) ends it `failed` with the reason,
// once, journaled: the lab never loops on one order. Only a relay out of reach leaves it waiting.
import { readReceipt, type Catalog, type HistoryEntry, type OrderSpec } from '../shared/schema.ts'
import { readOrderSpec } from '../shared/order-spec.ts'
import type { Journal, ItemState } from './journal.ts'
import { RelayRefusedError, RelayUnavailableError, type OpenOrder, type RelayLink } from './relay-link.ts'
import type { JobStatus, Printer, PrinterDescription } from './printers/printer.ts'
import { followJob, isRetryable } from './printers/follow.ts'
import { JobFollowTimeoutError, PrinterError, RetriesExhaustedError } from './printers/errors.ts'
import { notReadyReason, waitUntilReady } from './printers/readiness.ts'
import { receptionOf, sendOnce, type Reception } from './send-once.ts'

export interface PrintContext {
  labId: string
  printer: Printer
  journal: Journal
  /** What printing needs from the relay: the order's document and its photos. */
  link: Pick<RelayLink, 'openOrder' | 'photo'>
  catalog: Catalog
  templatesDir?: string
  log: (line: string) => void
  /** How long one job may take before it counts as failed. */
  jobTimeoutMs?: number
  retry?: { attempts: number; baseMs: number; maxMs: number }
  /** How often a printer that is not ready is asked again while orders wait for it: from baseMs, doubling to maxMs. */
  holdPoll?: { baseMs: number; maxMs: number }
  /** How long to wait for the relay to acknowledge a progress write; default 10 s. */
  ackTimeoutMs?: number
  /** Aborted by the operator's `skip`: no further job is sent and the order ends failed. */
  signal?: AbortSignal
  now?: () => Date
}

export type OrderOutcome = { status: 'printed' } | { status: 'failed'; reason: string } | { status: 'skipped'; reason: string }

/** SPEC.md's progress has no `cancelled`: a cancel the lab honours ends `failed` with this reason. */
export const CANCELLED_REASON = 'cancelled by the customer'
export const SKIPPED_REASON = 'skipped by the operator'
/** How `reason` starts while an order waits for its printer (stopped, paused, out of paper, unreachable). */
export const HELD_REASON = 'waiting for printer'

/** Progress another run (or another lab node) ended the order with: never printed again without the operator's `retry`. */
const ENDED_PROGRESS: ReadonlySet<unknown> = new Set(['printed', 'failed', 'ready', 'collected'])

/** The job states after which an item is never sent again without the operator's `retry`. */
const ENDED: ReadonlySet<ItemState> = new Set(['completed', 'aborted', 'canceled', 'failed'])

type Jobs = Record<number, { job: string | null; state: string; reason?: string }>

export async function printOrder(ctx: PrintContext, orderId: string): Promise<OrderOutcome> {
  let order: OpenOrder
  try {
    order = await ctx.link.openOrder(orderId)
  } catch (error) {
    if (error instanceof RelayRefusedError) return { status: 'skipped', reason: error.message }
    throw new RelayUnavailableError((error as Error).message, { cause: error })
  }
  const run = new OrderRun(ctx, orderId, order)
  try {
    return await run.print()
  } catch (error) {
    if (error instanceof RelayUnavailableError) throw error
    return run.fail(reasonOf(error))
  } finally {
    await run.settle()
    order.close()
  }
}

/**
 * Makes the relay's progress say what the journal says an order ended as (printed, or failed
 * with its reason): after a crash or an outage that came between the two, and for the operator's
 * `skip` (failed, so the admin may reassign it). Marks it reported once the relay has stored it.
 */
export async function reportOrder(ctx: PrintContext, orderId: string): Promise<void> {
  const ended = ctx.journal.orderState(orderId)
  if (ended?.state !== 'printed' && ended?.state !== 'failed') return
  let order: OpenOrder
  try {
    order = await ctx.link.openOrder(orderId)
  } catch (error) {
    // Not this lab's order any more (reassigned): the relay will take no progress from us.
    if (error instanceof RelayRefusedError) return ctx.journal.markReported(orderId, ended.state)
    throw new RelayUnavailableError((error as Error).message, { cause: error })
  }
  const run = new OrderRun(ctx, orderId, order)
  try {
    run.report(ended.state, ended.reason)
  } finally {
    await run.settle()
    order.close()
  }
}

/** One attempt at one order: its progress as written so far, and each step. */
class OrderRun {
  private readonly jobs: Jobs = {}
  private readonly now: () => Date
  private readonly retry: NonNullable<PrintContext['retry']>
  /** progress.jobs as the order came: what an earlier run (maybe another lab node's) sent. */
  private readonly recordedJobs: Jobs
  /** Whether a job of this order may be at the printer: from then on a wait says `printing`, not `held`. */
  private sentAny = false
  private wroteProgress = false
  private relayLost = false
  /** How the order ended here, once it has: marked reported when the relay stores that progress. */
  private ended: 'printed' | 'failed' | null = null

  constructor(private readonly ctx: PrintContext, private readonly orderId: string, private readonly order: OpenOrder) {
    this.now = ctx.now ?? (() => new Date())
    this.retry = ctx.retry ?? { attempts: 8, baseMs: 500, maxMs: 15_000 }
    const jobs = order.doc.getMap('progress').get('jobs')
    this.recordedJobs = typeof jobs === 'object' && jobs !== null ? { ...(jobs as Jobs) } : {}
  }

  isOurs(): boolean {
    const receipt = readReceipt(this.order.doc)
    return receipt?.status === 'accepted' && receipt.lab === this.ctx.labId
  }

  async print(): Promise<OrderOutcome> {
    const { ctx, orderId } = this
    if (!this.isOurs()) return { status: 'skipped', reason: 'not an accepted order of this lab' }
    const recorded = this.endedBefore()
    if (recorded) return recorded
    const reading = readOrderSpec(this.order.doc, orderId)
    if (!reading.spec) return this.fail(`the order cannot be printed: ${reading.problems.join(' ')}`)
    const spec = reading.spec
    const stop = this.stopReason()
    if (stop) return this.fail(stop)
    if (spec.state !== 'submitted') return this.fail(`the order is ${spec.state}, not submitted`)

    const { description } = await this.waitForPrinter()
    const unsupported = unsupportedReason(spec, ctx.catalog, description)
    if (unsupported) return this.fail(unsupported)

    // `printing` must be stored at the relay before anything is sent: from then on the relay
    // refuses the customer's cancel, and a cancel it took before has reached us with the answer.
    ctx.journal.setOrderState(orderId, 'printing')
    this.setProgress('printing')
    await this.acknowledged()
    ctx.log(`order ${orderId}: printing ${spec.items.length} item(s) on ${ctx.printer.uri}`)
    const stopped = await this.printItems(description, spec)
    if (stopped) return stopped
    const failed = Object.entries(this.jobs).filter(([, job]) => job.state !== 'completed')
    if (failed.length) return this.fail(`${failed.length} of ${spec.items.length} job(s) did not complete (${failed.map(([i, job]) => `item ${Number(i) + 1} ${job.state}`).join(', ')})`)
    this.setProgress('printed')
    ctx.journal.setOrderState(orderId, 'printed')
    this.ended = 'printed'
    ctx.log(`order ${orderId}: printed`)
    return { status: 'printed' }
  }

  /**
   * The order's end as its document records it (printed, failed, ready, collected: by an earlier
   * run, maybe of another lab node with another journal), journaled here so it is not taken again.
   * Null when it has not ended; when the operator's `retry` asks for it once more; and when this
   * journal recorded that same end itself, since then its items' records say what may go again.
   */
  private endedBefore(): OrderOutcome | null {
    const { ctx, orderId } = this
    const progress = this.order.doc.getMap('progress')
    const status = progress.get('status')
    if (!ENDED_PROGRESS.has(status)) return null
    const state = status === 'failed' ? 'failed' : 'printed'
    const mine = ctx.journal.orderState(orderId)?.state
    if (mine === 'retry' || mine === state) return null
    const reason = typeof progress.get('reason') === 'string' ? String(progress.get('reason')) : null
    ctx.journal.setOrderState(orderId, state, reason)
    ctx.journal.markReported(orderId, state)
    ctx.log(`order ${orderId}: already ${String(status)} in the order document${reason ? ` (${reason})` : ''}; not printed again (the operator's retry prints it)`)
    return state === 'failed' ? { status: 'failed', reason: reason ?? 'failed before' } : { status: 'printed' }
  }

  /** Sends and follows each item not ended before; the order's failure when one stops it, else null. */
  private async printItems(description: PrinterDescription, spec: OrderSpec): Promise<OrderOutcome | null> {
    const { ctx, orderId } = this
    const reception = receptionOf(readReceipt(this.order.doc)!)
    for (let index = 0; index < spec.items.length; index++) {
      const known = ctx.journal.item(orderId, index) ?? this.adoptRecordedJob(index)
      if (known) this.sentAny = true
      if (known && ENDED.has(known.state)) {
        this.jobs[index] = { job: known.jobId, state: known.state, ...(known.reason ? { reason: known.reason } : {}) }
        continue // ended before a restart: never sent twice
      }
      if (known?.state !== 'sent') { // a sent job is followed whatever happens
        await this.holdUntilReady()
        const stopped = this.stopReason()
        if (stopped) return this.fail(stopped)
      }
      try {
        await this.printItem(description, spec, reception, index)
      } catch (error) {
        // The printer went away or stopped while the item was being sent: wait for it, then send
        // the item again (sendOnce asks the printer first). Only real job failures end the order.
        if (waitable(error)) { index--; continue }
        this.jobs[index] = { job: ctx.journal.item(orderId, index)?.jobId ?? null, state: 'failed', reason: reasonOf(error) }
        return this.fail(`item ${index + 1}: ${reasonOf(error)}`)
      }
    }
    return null
  }

  /**
   * An item this journal does not know but the order's progress does (written by a run with
   * another journal): completed there means never sent again; sent there means "ask the printer
   * before sending" (journaled as intent). Null when the progress says nothing of it.
   */
  private adoptRecordedJob(index: number): ReturnType<Journal['item']> {
    const { ctx, orderId } = this
    const recorded = this.recordedJobs[index]
    const jobName = `${orderId}-${index}`
    if (!recorded || recorded.state === 'failed' || recorded.state === 'aborted' || recorded.state === 'canceled') return null
    if (recorded.state === 'completed') ctx.journal.finish(orderId, index, jobName, recorded.job, 'completed', recorded.reason ?? null, null)
    else ctx.journal.intend(orderId, index, jobName)
    return ctx.journal.item(orderId, index)
  }

  /** Ends the order: progress `failed` with the reason, journaled, logged, once. */
  fail(reason: string): OrderOutcome {
    this.setProgress('failed', reason)
    this.ctx.journal.setOrderState(this.orderId, 'failed', reason)
    this.ended = 'failed'
    this.ctx.log(`order ${this.orderId}: failed: ${reason}`)
    return { status: 'failed', reason }
  }

  /** The journal's end of an order, written into the relay's progress where it says otherwise. */
  report(state: 'printed' | 'failed', reason: string | null): void {
    this.ended = state
    if (!this.isOurs()) return
    const progress = this.order.doc.getMap('progress')
    if (progress.get('status') === state && (state === 'printed' || progress.get('reason') === reason)) return
    this.order.doc.transact(() => {
      progress.set('status', state)
      progress.set('updatedAt', this.now().toISOString())
      if (reason !== null) progress.set('reason', reason)
      else if (progress.has('reason')) progress.delete('reason')
    })
    this.wroteProgress = true
  }

  /**
   * Waits (bounded) for the relay to store the last progress write before the order closes;
   * once it has stored how the order ended, the journal notes it as reported. (A refusal counts:
   * the relay will never take that write.) Unreported orders are reported again at start.
   */
  async settle(): Promise<void> {
    if (this.relayLost) return
    try {
      const refusals = this.wroteProgress ? await this.order.acknowledged(this.ctx.ackTimeoutMs ?? 10_000) : []
      if (refusals.length) this.ctx.log(`order ${this.orderId}: the relay refused the lab's progress: ${refusals.join('; ')}`)
      if (this.ended) this.ctx.journal.markReported(this.orderId, this.ended)
    } catch (error) {
      this.ctx.log(`order ${this.orderId}: progress not acknowledged by the relay: ${(error as Error).message}`)
    }
  }

  private async printItem(description: PrinterDescription, spec: OrderSpec, reception: Reception, index: number): Promise<void> {
    const { ctx, orderId } = this
    const item = spec.items[index]
    const jobName = `${orderId}-${index}`
    const jobId = await sendOnce(ctx, description, spec, reception, index, item, jobName, this.retry)
    this.jobs[index] = { job: jobId, state: 'processing' }
    this.sentAny = true
    this.setProgress('printing')
    const status = await this.follow(jobId)
    const reason = status.reasons.join(', ')
    const entry: HistoryEntry = {
      id: `${ctx.labId}:${jobName}:${jobId}`, order: orderId, item: index, printer: ctx.printer.uri, job: jobId,
      copies: item.qty, status: status.state, printedAt: this.now().toISOString(),
    }
    ctx.journal.finish(orderId, index, jobName, jobId, status.state as ItemState, reason || null, entry)
    this.jobs[index] = { job: jobId, state: status.state, ...(reason ? { reason } : {}) }
    ctx.log(`order ${orderId}: item ${index + 1}/${spec.items.length} job ${jobId} ${status.state}`)
  }

  /**
   * The printer's description once it is ready, however long that takes: meanwhile the order is
   * `held` with the reason (or, once a job of it may be at the printer, `printing` with it, since
   * `held` tells the relay that nothing printable was sent), logged once per new reason. A cancel
   * or the operator's `skip` ends the wait. True in `held` when the order did wait.
   */
  private async waitForPrinter(): Promise<{ description: PrinterDescription; held: boolean }> {
    const { ctx, orderId } = this
    let held = false
    const hold = this.ctx.holdPoll ?? { baseMs: 500, maxMs: 5_000 }
    const description = await waitUntilReady(ctx.printer, {
      pollMs: hold.baseMs, maxPollMs: hold.maxMs, signal: ctx.signal, stop: () => this.stopReason(),
      onWaiting: (why) => {
        held = true
        ctx.log(`order ${orderId}: held: printer not ready (${why}); ${HELD_REASON}`)
        this.setProgress(this.sentAny ? 'printing' : 'held', `${HELD_REASON}: ${why}`)
      },
    })
    if (held) ctx.log(`order ${orderId}: printer ready; resuming`)
    return { description, held }
  }

  /** Before the next item: waits while the printer is not ready, then says `printing` again, acknowledged, so a cancel taken meanwhile is seen. */
  private async holdUntilReady(): Promise<void> {
    const { held } = await this.waitForPrinter()
    if (!held) return
    this.setProgress('printing')
    await this.acknowledged()
  }

  /**
   * Follows a job to its end. A job the printer holds or has stopped (paused, out of paper) is
   * waited for as long as that lasts: the follow's deadline only ends a job a ready printer does not finish.
   */
  private async follow(jobId: string): Promise<JobStatus> {
    const { ctx } = this
    let waiting = false
    for (;;) {
      try {
        return await followJob(ctx.printer, jobId, {
          pollMs: 250, timeoutMs: ctx.jobTimeoutMs ?? 15 * 60_000,
          onState: (status) => {
            const stalled = status.state === 'stopped' || status.state === 'held'
            if (stalled) ctx.log(`order ${this.orderId}: job ${jobId} ${status.state}${status.reasons.length ? ` (${status.reasons.join(', ')})` : ''}; ${HELD_REASON}`)
            if (stalled) this.setProgress('printing', `${HELD_REASON}: job ${jobId} ${status.state}${status.reasons.length ? ` (${status.reasons.join(', ')})` : ''}`)
            else if (waiting) this.setProgress('printing')
            waiting = stalled
          },
        })
      } catch (error) {
        if (!(error instanceof JobFollowTimeoutError)) throw error
        const stalled = error.lastState === 'stopped' || error.lastState === 'held' || (await this.printerNotReady()) !== null
        if (!stalled) throw error
      }
    }
  }

  private async printerNotReady(): Promise<string | null> {
    try {
      return notReadyReason(await this.ctx.printer.describe())
    } catch (error) {
      if (error instanceof PrinterError) return error.message
      throw error
    }
  }

  /** Waits until the relay has stored our progress; a refusal or no answer means stop here. */
  private async acknowledged(): Promise<void> {
    let refusals: string[]
    try {
      refusals = await this.order.acknowledged(this.ctx.ackTimeoutMs ?? 10_000)
    } catch (error) {
      this.relayLost = true
      throw new RelayUnavailableError(`order ${this.orderId}: ${(error as Error).message}; nothing sent`, { cause: error })
    }
    if (refusals.length) throw new Error(`the relay refused the lab's progress (${refusals.join('; ')}); nothing sent`)
  }

  /** Why no further job may be sent: the customer cancelled, or the operator skipped the order. */
  private stopReason(): string | null {
    if (this.ctx.signal?.aborted) return SKIPPED_REASON
    return this.order.doc.getMap('spec').get('state') === 'cancelled' ? CANCELLED_REASON : null
  }

  // One transaction per change of progress: whoever syncs the order never sees a status
  // without its reason, nor a reason left over from an earlier status.
  private setProgress(status: string, reason?: string): void {
    const progress = this.order.doc.getMap('progress')
    this.order.doc.transact(() => {
      progress.set('status', status)
      progress.set('updatedAt', this.now().toISOString())
      progress.set('jobs', { ...this.jobs })
      if (reason !== undefined) progress.set('reason', reason)
      else if (progress.has('reason')) progress.delete('reason')
    })
    this.wroteProgress = true
  }
}

/** Why this printer cannot print the order, checked before anything is sent; null when it can. */
function unsupportedReason(spec: OrderSpec, catalog: Catalog, printer: PrinterDescription): string | null {
  if (!printer.formats.includes('image/jpeg')) return `the printer does not accept JPEG (it takes ${printer.formats.join(', ')})`
  for (const item of spec.items) {
    const product = catalog.products.find((p) => p.id === item.product)
    if (!product) return `unknown product ${item.product}`
    if (!printer.media.includes(product.media)) return `the printer has no ${product.media} media for ${product.name}`
  }
  return null
}

/** A failure that is the printer's state, not the job's: waited out, never counted against the order. */
function waitable(error: unknown): boolean {
  return isRetryable(error) || (error instanceof RetriesExhaustedError && isRetryable(error.lastError))
}

/** A reason for the order's progress from anything thrown, bounded (it is written into the order). */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > 500 ? `${message.slice(0, 500)}…` : message
}
