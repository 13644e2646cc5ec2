// The lab's print loop: which order goes next (a report owed to the relay, the operator's
// request, or with --auto the oldest waiting), one at a time, and how it waits for the relay.
import type { Journal } from './journal.ts'
import { RelayUnavailableError, type RelayLink } from './relay-link.ts'
import type { Printer } from './printers/printer.ts'
import { printOrder, reportOrder, SKIPPED_REASON, type PrintContext } from './print-order.ts'

export interface PrintQueueOptions {
  labId: string
  /** Print as soon as the printer is free; otherwise only what the operator asks for. */
  auto: boolean
  printer: Printer
  journal: Journal
  link: Pick<RelayLink, 'queue' | 'catalog' | 'openOrder' | 'photo'>
  templatesDir?: string
  log: (line: string) => void
}

// A relay that answered too slowly (busy, not gone) does not reconnect the lab's link, so
// nothing else would wake the loop: it tries again by itself, backing off to 10 s.
const RELAY_RETRY_MIN_MS = 1_000
const RELAY_RETRY_MAX_MS = 10_000

/**
 * One order at a time, and never the same one again by itself: an order ends printed or failed
 * (journaled), and only the operator's `retry` takes a failed one again. A relay out of reach
 * stops the loop until the queue changes or the link syncs again; the order waits, it has not failed.
 */
export class PrintQueue {
  private readonly requested: string[] = []
  /** Orders that ended here (or that the operator skipped) whose progress the relay has not stored yet. */
  private readonly reports: string[] = []
  /** Queued orders the relay's receipt does not give to this lab (a reassignment in flight): not again until the queue changes. */
  private readonly notOurs = new Set<string>()
  /** Orders the operator holds back (the console's hold): --auto passes them over. In memory only. */
  private readonly held = new Set<string>()
  /** The order being printed, and how the operator's `skip` stops it. */
  private current: { order: string; controller: AbortController } | null = null
  private working = false
  private stopping = false
  private relayRetryMs = RELAY_RETRY_MIN_MS
  private relayRetry: NodeJS.Timeout | null = null

  constructor(private readonly options: PrintQueueOptions) {}

  /** Whether an order is being printed or reported right now. */
  get busy(): boolean {
    return this.working
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
    this.held.add(order)
  }

  /** Lets a held order go; with --auto it may print at once. False when it was not held. */
  release(order: string): boolean {
    if (!this.held.delete(order)) return false
    void this.work()
    return true
  }

  isHeld(order: string): boolean {
    return this.held.has(order)
  }

  /** The relay's queue changed: orders that were not ours may be now. */
  queueChanged(): void {
    this.notOurs.clear()
    this.options.log(`queue: ${this.waiting().length} order(s) waiting`)
    void this.work()
  }

  /** The operator asks for these orders, in this order. */
  request(...orders: string[]): void {
    this.requested.push(...orders)
    void this.work()
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
    if (this.current?.order === order) this.current.controller.abort(new Error(SKIPPED_REASON))
    // Then the relay gets what the journal says the order ended as (a job in flight may still finish it).
    if (!this.reports.includes(order)) this.reports.push(order)
    this.options.log(`order ${order}: ${SKIPPED_REASON}`)
    void this.work()
  }

  /**
   * Orders that ended just before a crash or during an outage: the relay gets their progress now,
   * and the loop, stopped by an outage, goes on (called at start and whenever the link syncs).
   */
  resume(): void {
    for (const { order } of this.options.journal.unreported()) if (!this.reports.includes(order) && this.current?.order !== order) this.reports.push(order)
    void this.work()
  }

  /** No order is started after this; one being printed goes on until the process ends. */
  stop(): void {
    this.stopping = true
    if (this.relayRetry) clearTimeout(this.relayRetry)
    this.relayRetry = null
  }

  private async work(): Promise<void> {
    if (this.working || this.stopping) return
    this.working = true
    try {
      while (await this.step());
    } finally {
      this.working = false
    }
  }

  /** Prints or reports the next order; false when there is none, or the loop must wait. */
  private async step(): Promise<boolean> {
    const { options } = this
    const catalog = options.link.catalog()
    const report = this.reports.shift()
    const next = report ?? this.requested.shift() ?? (options.auto ? this.waiting().find((order) => !this.held.has(order)) : undefined)
    if (!next || this.stopping) return false
    const putBack = () => (report ? this.reports : this.requested).unshift(next)
    if (!catalog) { options.log('no catalog from the relay yet; waiting'); putBack(); return false }
    const controller = new AbortController()
    const ctx: PrintContext = {
      labId: options.labId, printer: options.printer, journal: options.journal, link: options.link, catalog,
      templatesDir: options.templatesDir, log: options.log, signal: controller.signal,
    }
    this.current = { order: next, controller }
    try {
      if (report) await reportOrder(ctx, next)
      else await this.print(ctx, next)
      return true
    } catch (error) {
      if (error instanceof RelayUnavailableError) {
        options.log(`order ${next}: waiting for the relay: ${error.message}`)
        if (report) putBack()
        this.retryLater()
        return false
      }
      // Not expected (printOrder ends an order's own problems itself), and still never a loop.
      options.journal.setOrderState(next, 'failed', (error as Error).message)
      options.log(`order ${next}: failed: ${(error as Error).message}`)
      return true
    } finally {
      this.current = null
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
    this.relayRetry = setTimeout(() => { this.relayRetry = null; void this.work() }, this.relayRetryMs)
    this.relayRetry.unref()
    this.relayRetryMs = Math.min(this.relayRetryMs * 2, RELAY_RETRY_MAX_MS)
  }
}
