// The lab's print loop: which order goes next (a report owed to the relay, the operator's
// request, or with --auto the oldest waiting), several at once (each printer takes its items in
// turn, printers/fleet.ts), and how it waits for the relay.
import type { Journal } from './journal.ts'
import { RelayUnavailableError, type RelayLink } from './relay-link.ts'
import type { PrinterFleet } from './printers/fleet.ts'
import { printOrder, reportOrder, SKIPPED_REASON, type PrintContext } from './print-order.ts'
import type { HoldStore } from './holds.ts'

export interface PrintQueueOptions {
  labId: string
  /** Print as soon as the printer is free; otherwise only what the operator asks for. */
  auto: boolean
  fleet: PrinterFleet
  journal: Journal
  link: Pick<RelayLink, 'queue' | 'catalog' | 'openOrder' | 'photo'>
  templatesDir?: string
  log: (line: string) => void
  /** Where the operator's holds are kept across restarts; without it they last as long as the process. */
  holds?: HoldStore
}

// A relay that answered too slowly (busy, not gone) does not reconnect the lab's link, so
// nothing else would wake the loop: it tries again by itself, backing off to 10 s.
const RELAY_RETRY_MIN_MS = 1_000
const RELAY_RETRY_MAX_MS = 10_000
/**
 * Orders open at once. An order waiting for its printer's turn sends nothing, so another printer
 * is not kept idle by an order held on a paused one; the bound keeps open documents few.
 */
const MAX_IN_FLIGHT = 8

/**
 * Several orders at a time (one printer's items go out in the order the orders were taken), and never the same one again by itself: an order ends printed or failed
 * (journaled), and only the operator's `retry` takes a failed one again. A relay out of reach
 * stops the loop until the queue changes or the link syncs again; the order waits, it has not failed.
 */
export class PrintQueue {
  private readonly requested: string[] = []
  /** Orders that ended here (or that the operator skipped) whose progress the relay has not stored yet. */
  private readonly reports: string[] = []
  /** Queued orders the relay's receipt does not give to this lab (a reassignment in flight): not again until the queue changes. */
  private readonly notOurs = new Set<string>()
  /** Orders the operator holds back (the console's hold): --auto passes them over. Kept in options.holds. */
  private readonly held: Set<string>
  /** The orders being printed or reported, and how the operator's `skip` stops each. */
  private readonly inFlight = new Map<string, AbortController>()
  /** Set while the relay is out of reach: no order starts until the retry or a sync. */
  private waitingForRelay = false
  private stopping = false
  private relayRetryMs = RELAY_RETRY_MIN_MS
  private relayRetry: NodeJS.Timeout | null = null

  constructor(private readonly options: PrintQueueOptions) {
    this.held = new Set(options.holds?.load() ?? [])
  }

  /** Whether an order is being printed or reported right now. */
  get busy(): boolean {
    return this.inFlight.size > 0
  }

  /** The lab's queued orders not yet ended here, oldest first. */
  waiting(): string[] {
    const { link, journal } = this.options
    return [...link.queue.entries()]
      .sort(([, a], [, b]) => a.receivedAt.localeCompare(b.receivedAt))
      .map(([order]) => order)
      .filter((order) => {
        const state = journal.orderState(order)?.state
        return state !== 'printed' && state !== 'failed' && !this.notOurs.has(order)
      })
  }

  /** Keeps a waiting order back: --auto takes the next one instead, until release(). */
  hold(order: string): void {
    if (this.held.has(order)) return
    this.held.add(order)
    this.saveHolds()
  }

  /** Lets a held order go; with --auto it may print at once. False when it was not held. */
  release(order: string): boolean {
    if (!this.held.delete(order)) return false
    this.saveHolds()
    this.wake()
    return true
  }

  isHeld(order: string): boolean {
    return this.held.has(order)
  }

  /** The holds, durable before the operator is told (a throw here reaches the console as a 500, the hold not confirmed). */
  private saveHolds(): void {
    this.options.holds?.save([...this.held])
  }

  /** The relay's queue changed: orders that were not ours may be now. */
  queueChanged(): void {
    this.notOurs.clear()
    this.options.log(`queue: ${this.waiting().length} order(s) waiting`)
    this.wake()
  }

  /** The operator asks for these orders, in this order. */
  request(...orders: string[]): void {
    this.requested.push(...orders)
    this.wake()
  }

  /** The operator's `retry`: items that ended without printing go again; completed ones never do. */
  retry(order: string): void {
    const { journal, log } = this.options
    log(`order ${order}: retry (${journal.forgetUnprinted(order)} item(s) to send again)`)
    journal.setOrderState(order, 'retry')
    if (this.reports.includes(order)) this.reports.splice(this.reports.indexOf(order), 1)
    this.request(order)
  }

  /** The operator's `skip`: the order is not printed here (a job already sent finishes). */
  skip(order: string): void {
    this.options.journal.setOrderState(order, 'failed', SKIPPED_REASON)
    for (let i = this.requested.indexOf(order); i >= 0; i = this.requested.indexOf(order)) this.requested.splice(i, 1)
    this.inFlight.get(order)?.abort(new Error(SKIPPED_REASON))
    // Then the relay gets what the journal says the order ended as (a job in flight may still finish it).
    if (!this.reports.includes(order)) this.reports.push(order)
    this.options.log(`order ${order}: ${SKIPPED_REASON}`)
    this.wake()
  }

  /**
   * Orders that ended just before a crash or during an outage: the relay gets their progress now,
   * and the loop, stopped by an outage, goes on (called at start and whenever the link syncs).
   */
  resume(): void {
    for (const { order } of this.options.journal.unreported()) if (!this.reports.includes(order) && !this.inFlight.has(order)) this.reports.push(order)
    this.waitingForRelay = false
    this.work()
  }

  /** No order is started after this; one being printed goes on until the process ends. */
  stop(): void {
    this.stopping = true
    if (this.relayRetry) clearTimeout(this.relayRetry)
    this.relayRetry = null
  }

  /** Something outside happened (the queue, the operator): try again even if the relay seemed out of reach. */
  private wake(): void {
    this.waitingForRelay = false
    this.work()
  }

  /** Starts orders while there are some to take and room for them; each one's end starts the next. */
  private work(): void {
    while (!this.stopping && !this.waitingForRelay && this.inFlight.size < MAX_IN_FLIGHT) {
      const next = this.take()
      if (!next) return
      this.inFlight.set(next.order, new AbortController())
      void this.run(next.order, next.report).finally(() => {
        this.inFlight.delete(next.order)
        this.work()
      })
    }
  }

  /** The next order to report or print, not one under way; null when there is none. */
  private take(): { order: string; report: boolean } | null {
    const free = (order: string) => !this.inFlight.has(order)
    const report = this.reports.find(free)
    if (report !== undefined) { this.reports.splice(this.reports.indexOf(report), 1); return { order: report, report: true } }
    const requested = this.requested.findIndex(free)
    if (requested >= 0) return { order: this.requested.splice(requested, 1)[0], report: false }
    const next = this.options.auto ? this.waiting().find((order) => free(order) && !this.held.has(order)) : undefined
    return next === undefined ? null : { order: next, report: false }
  }

  /** Prints or reports one order; an order that must wait for the relay goes back where it came from. */
  private async run(order: string, report: boolean): Promise<void> {
    const { options } = this
    const putBack = () => (report ? this.reports : this.requested).unshift(order)
    const catalog = options.link.catalog()
    if (!catalog) { options.log('no catalog from the relay yet; waiting'); putBack(); this.waitingForRelay = true; return }
    const ctx: PrintContext = {
      labId: options.labId, fleet: options.fleet, journal: options.journal, link: options.link, catalog,
      templatesDir: options.templatesDir, log: options.log, signal: this.inFlight.get(order)!.signal,
    }
    try {
      if (report) await reportOrder(ctx, order)
      else await this.print(ctx, order)
    } catch (error) {
      if (error instanceof RelayUnavailableError) {
        options.log(`order ${order}: waiting for the relay: ${error.message}`)
        if (report) putBack()
        this.waitingForRelay = true
        this.retryLater()
        return
      }
      // Not expected (printOrder ends an order's own problems itself), and still never a loop.
      options.journal.setOrderState(order, 'failed', (error as Error).message)
      options.log(`order ${order}: failed: ${(error as Error).message}`)
    }
  }

  private async print(ctx: PrintContext, order: string): Promise<void> {
    const outcome = await printOrder(ctx, order)
    this.relayRetryMs = RELAY_RETRY_MIN_MS
    // printOrder logs a failure itself, once.
    if (outcome.status === 'skipped') { this.options.log(`order ${order}: skipped: ${outcome.reason}`); this.notOurs.add(order) }
  }

  private retryLater(): void {
    if (this.relayRetry !== null || this.stopping) return
    this.relayRetry = setTimeout(() => { this.relayRetry = null; this.waitingForRelay = false; this.work() }, this.relayRetryMs)
    this.relayRetry.unref()
    this.relayRetryMs = Math.min(this.relayRetryMs * 2, RELAY_RETRY_MAX_MS)
  }
}
