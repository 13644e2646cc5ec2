// Prints one order: checks it is assigned here and printable, renders each item, sends it with
// intent journaled first, follows the job to its end, and writes `progress` into the order.
// Whatever goes wrong with the order itself (a spec the lab cannot read, an unknown product, a
// photo or template that does not render, a throw anywhere) ends it `failed` with the reason,
// once, journaled: the lab never loops on one order. Only a relay out of reach leaves it waiting.
import { readReceipt, type Catalog, type HistoryEntry, type OrderSpec } from '../shared/schema.ts'
import { readOrderSpec } from '../shared/order-spec.ts'
import type { Journal, ItemState } from './journal.ts'
import { RelayRefusedError, RelayUnavailableError, type OpenOrder, type RelayLink } from './relay-link.ts'
import type { Printer, PrinterDescription } from './printers/printer.ts'
import { WaitStoppedError } from './printers/readiness.ts'
import type { PrinterFleet } from './printers/fleet.ts'
import { receptionOf, sendOnce } from './send-once.ts'
import { followToEnd, lanesByMedia, LaneStoppedError, RerouteError, routeOrWait, unsupportedReason, waitable, waitForPrinter, type LaneHost } from './print-lane.ts'
import { withoutCredentials } from './presence.ts'

export interface PrintContext {
  labId: string
  /** The lab's printers: each item goes to the first whose media holds its product's media. */
  fleet: PrinterFleet
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

/** One attempt at one order: its progress as written so far, and each step; its lanes (print-lane.ts) run side by side. */
class OrderRun implements LaneHost {
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
  /** Why each lane waits (a printer not ready, no printer holding a media, a stalled job). */
  private readonly waits = new Map<string, string>()
  /** The order's end once a lane ended it (a job failed, a cancel, a skip). */
  private failure: OrderOutcome | null = null
  /** Stops every lane: the operator's skip, or the order's end. */
  private readonly stop = new AbortController()
  readonly signal: AbortSignal
  private printingStored: Promise<void> | null = null

  constructor(readonly ctx: PrintContext, readonly orderId: string, private readonly order: OpenOrder) {
    this.signal = ctx.signal ? AbortSignal.any([ctx.signal, this.stop.signal]) : this.stop.signal
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
    const unknown = spec.items.find((item) => !ctx.catalog.products.some((p) => p.id === item.product))
    if (unknown) return this.fail(`unknown product ${unknown.product}`)

    const pending: number[] = []
    for (let index = 0; index < spec.items.length; index++) {
      const known = ctx.journal.item(orderId, index) ?? this.adoptRecordedJob(index)
      if (known) this.sentAny = true
      if (known && ENDED.has(known.state)) this.jobs[index] = { job: known.jobId, state: known.state, ...(known.reason ? { reason: known.reason } : {}) }
      else pending.push(index) // ended before a restart: never sent twice
    }
    const lanes = [...lanesByMedia(spec, ctx.catalog, pending)]
    const results = await Promise.allSettled(lanes.map(([media, indexes]) => this.printLane(spec, media, indexes)))
    if (this.failure) return this.failure
    const thrown = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (thrown) throw thrown.reason
    const failed = Object.entries(this.jobs).filter(([, job]) => job.state !== 'completed')
    if (failed.length) return this.fail(`${failed.length} of ${spec.items.length} job(s) did not complete (${failed.map(([i, job]) => `item ${Number(i) + 1} ${job.state}`).join(', ')})`)
    this.setProgress('printed')
    ctx.journal.setOrderState(orderId, 'printed')
    this.ended = 'printed'
    ctx.log(`order ${orderId}: printed`)
    return { status: 'printed' }
  }

  /**
   * One printer's items of this order, in that printer's turn: each waits for the printer to be
   * ready, is sent once and followed to its end. A real job failure ends the order (the other
   * lanes stop before their next item); a printer that stops or goes away is waited for.
   */
  private async printLane(spec: OrderSpec, media: string, indexes: number[]): Promise<void> {
    const { ctx } = this
    try {
      for (;;) {
        const printer = await routeOrWait(this, media)
        try {
          return await ctx.fleet.withTurn(printer, () => this.laneItems(printer, spec, media, indexes), this.signal)
        } catch (error) {
          if (!(error instanceof RerouteError)) throw error
          ctx.log(`order ${this.orderId}: ${error.message}; routing its ${media} items again`)
          this.waiting(printer.uri, null)
        }
      }
    } catch (error) {
      if (this.failure && this.signal.aborted) return // stopped because another lane ended the order
      if (error instanceof WaitStoppedError || error instanceof LaneStoppedError) return void this.stopWith((error as Error).message)
      if (ctx.signal?.aborted && error === ctx.signal.reason) return void this.stopWith(SKIPPED_REASON)
      throw error
    }
  }

  /** The lane's items not ended yet, one after another on `printer`. */
  private async laneItems(printer: Printer, spec: OrderSpec, media: string, indexes: number[]): Promise<void> {
    const { ctx, orderId } = this
    for (let i = 0; i < indexes.length; i++) {
      const index = indexes[i]
      if (this.failure) return
      const known = ctx.journal.item(orderId, index)
      if (known && ENDED.has(known.state)) continue // printed before the lane was routed again
      let description: PrinterDescription | null = null
      if (known?.state !== 'sent') { // a sent job is followed whatever happens
        description = await this.readyFor(printer, media)
        if (this.failure) return
      }
      try {
        await this.printItem(printer, description, spec, index)
      } catch (error) {
        if (waitable(error)) { i--; continue } // sendOnce asks the printer first when it goes again
        // The relay out of reach (a photo not fetched): the queue tries the order again later.
        if (error instanceof RelayUnavailableError) throw error
        this.jobs[index] = { job: ctx.journal.item(orderId, index)?.jobId ?? null, state: 'failed', reason: reasonOf(error) }
        this.stopWith(`item ${index + 1}: ${reasonOf(error)}`)
        return
      }
    }
  }

  /** Waits for the printer, checks it takes the item, and has `printing` stored at the relay before the first job goes. */
  private async readyFor(printer: Printer, media: string): Promise<PrinterDescription | null> {
    const { held, description } = await waitForPrinter(this, printer, media)
    const stopped = this.stopReason()
    if (stopped) { this.stopWith(stopped); return null }
    const unsupported = unsupportedReason(printer, description)
    if (unsupported) { this.stopWith(unsupported); return null }
    // `printing` must be stored at the relay before anything is sent: from then on the relay
    // refuses the customer's cancel, and a cancel it took before has reached us with the answer.
    this.printingStored ??= this.storePrinting()
    await this.printingStored
    if (held) { this.setProgress('printing'); await this.acknowledged() }
    return description
  }

  private async storePrinting(): Promise<void> {
    this.ctx.journal.setOrderState(this.orderId, 'printing')
    this.setProgress('printing')
    await this.acknowledged()
    this.ctx.log(`order ${this.orderId}: printing on ${this.ctx.fleet.printers.length > 1 ? 'its printers' : this.ctx.fleet.printers[0].uri}`)
  }

  /** Ends the order once, failed with `reason`; the other lanes stop before their next item. */
  private stopWith(reason: string): void {
    this.failure ??= this.fail(reason)
    this.stop.abort(new LaneStoppedError(reason))
  }

  /** LaneHost: this lane's reason to wait, or null; the progress says the order's reasons. */
  waiting(lane: string, why: string | null): void {
    if (why === null ? !this.waits.delete(lane) : this.waits.get(lane) === why) return
    if (why !== null) this.waits.set(lane, why)
    // The last wait over before anything was sent: the lane's next step stores `printing` itself.
    if (!this.sentAny && this.waits.size === 0) return
    this.setProgress(this.sentAny ? 'printing' : 'held')
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

  private async printItem(printer: Printer, description: PrinterDescription | null, spec: OrderSpec, index: number): Promise<void> {
    const { ctx, orderId } = this
    const item = spec.items[index]
    const jobName = `${orderId}-${index}`
    const known = ctx.journal.item(orderId, index)
    const jobId = known?.state === 'sent' && known.jobId ? known.jobId
      : await sendOnce(ctx, printer, description!, spec, receptionOf(readReceipt(this.order.doc)!), index, item, jobName, this.retry)
    this.jobs[index] = { job: jobId, state: 'processing' }
    this.sentAny = true
    this.setProgress('printing')
    const status = await followToEnd(this, printer, jobId, (stalled) => this.waiting(`job ${jobId}`, stalled))
    this.waiting(`job ${jobId}`, null)
    const reason = status.reasons.join(', ')
    const reprint = ctx.journal.reprintReason(orderId, index)
    const entry: HistoryEntry & { reprint?: true; reason?: string } = {
      id: `${ctx.labId}:${jobName}:${jobId}`, order: orderId, item: index, printer: withoutCredentials(printer.uri), job: jobId,
      copies: item.qty, status: status.state, printedAt: this.now().toISOString(), ...(reprint !== null ? { reprint: true, reason: reprint } : {}),
    }
    ctx.journal.finish(orderId, index, jobName, jobId, status.state as ItemState, reason || null, entry)
    this.jobs[index] = { job: jobId, state: status.state, ...(reason ? { reason } : {}) }
    ctx.log(`order ${orderId}: item ${index + 1}/${spec.items.length} job ${jobId} ${status.state} on ${printer.uri}`)
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
  stopReason(): string | null {
    if (this.ctx.signal?.aborted) return SKIPPED_REASON
    return this.order.doc.getMap('spec').get('state') === 'cancelled' ? CANCELLED_REASON : null
  }

  // One transaction per change of progress: whoever syncs the order never sees a status
  // without its reason, nor a reason left over from an earlier status.
  private setProgress(status: string, reason?: string): void {
    if (reason === undefined && this.waits.size && status !== 'printed') reason = `${HELD_REASON}: ${[...this.waits.values()].join('; ')}`
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

/** A reason for the order's progress from anything thrown, bounded (it is written into the order). */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > 500 ? `${message.slice(0, 500)}…` : message
}
