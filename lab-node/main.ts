// `labsync lab`: watches the lab's queue at the relay, pulls an order only when it is about to
// print it (--auto: as soon as the printer is free; otherwise when the operator asks on stdin),
// and reports its printing history to the relay every --history-interval seconds.
import { createInterface } from 'node:readline'
import { join, resolve } from 'node:path'
import type * as Y from 'yjs'
import type { HistoryEntry } from '../shared/schema.ts'
import { Journal } from './journal.ts'
import { RelayLink } from './relay-link.ts'
import { openPrinter } from './printers/printer.ts'
import { printOrder, reportOrder, RelayUnavailableError, SKIPPED_REASON, type PrintContext } from './print-order.ts'
import type { LanServer } from './lan/server.ts'

export interface LabArgs {
  relay: string
  lab: string
  key: string
  printer: string
  data: string
  templates: string | null
  historyIntervalSeconds: number
  auto: boolean
  /** HOST:PORT for the in-store server, or null for none. */
  listen: { host: string; port: number } | null
  /** PEM certificate and key: the in-store server speaks https/wss. */
  tls?: { cert: string; key: string } | null
}

const OPERATOR_HELP = 'commands: queue | next | print <order> | all | retry <order> | skip <order> | status | flush | quit'

export async function runLab(args: LabArgs): Promise<void> {
  const dataDir = resolve(args.data)
  const log = (line: string) => console.log(`[${new Date().toISOString()}] ${line}`)
  const journal = new Journal(join(dataDir, 'lab.sqlite'))
  const printer = openPrinter(args.printer)
  const link = new RelayLink(args.relay.replace(/\/$/, ''), args.lab, args.key, join(dataDir, 'photos'))
  // The in-store server starts first: the store keeps taking orders while the relay is out of reach.
  let lan: LanServer | null = null
  if (args.listen) {
    // Loaded only when asked for: a lab without --listen starts (and restarts after a crash) faster.
    const { startLanServer } = await import('./lan/server.ts')
    lan = await startLanServer({ ...args.listen, tls: args.tls ?? undefined, dataDir, relayUrl: args.relay, labId: args.lab, labKey: args.key, log })
    link.lanPhotoPath = lan.photoPath
    log(`in-store server listening on ${lan.url.replace(/^http/, 'ws')} (terminals sync at /sync/<room>, upload photos at /api/images/ and /api/uploads/)`)
  }
  await link.ready(5_000).catch((error: Error) => log(`relay not reachable yet (${error.message}); working from the journal and waiting`))

  let busy = false
  let stopping = false
  // A relay that answered too slowly (busy, not gone) does not reconnect the lab's link, so
  // nothing else would wake the loop: it tries again by itself, backing off to 10 s.
  const RELAY_RETRY_MIN_MS = 1_000
  let relayRetryMs = RELAY_RETRY_MIN_MS
  let relayRetry: NodeJS.Timeout | null = null
  const retryLater = () => {
    if (relayRetry !== null || stopping) return
    relayRetry = setTimeout(() => { relayRetry = null; void work() }, relayRetryMs)
    relayRetry.unref()
    relayRetryMs = Math.min(relayRetryMs * 2, 10_000)
  }
  const requested: string[] = []
  /** Orders that ended here (or that the operator skipped) whose progress the relay has not stored yet. */
  const reports: string[] = []
  /** The order being printed, and how the operator's `skip` stops it. */
  let current: { order: string; controller: AbortController } | null = null
  /** Queued orders the relay's receipt does not give to this lab (a reassignment in flight): not again until the queue changes. */
  const notOurs = new Set<string>()
  const waiting = () => [...link.queue.entries()]
    .sort(([, a], [, b]) => a.receivedAt.localeCompare(b.receivedAt))
    .map(([order]) => order)
    .filter((order) => {
      const state = journal.orderState(order)?.state
      return state !== 'printed' && state !== 'failed' && !notOurs.has(order)
    })

  // One order at a time, and never the same one again by itself: an order ends printed or
  // failed (journaled), and only the operator's `retry` takes a failed one again. A relay out of
  // reach stops the loop until the queue changes; the order waits, it has not failed.
  async function work(): Promise<void> {
    if (busy || stopping) return
    busy = true
    try {
      for (;;) {
        const catalog = link.catalog()
        const report = reports.shift()
        const next = report ?? requested.shift() ?? (args.auto ? waiting()[0] : undefined)
        if (!next || stopping) break
        const putBack = () => (report ? reports : requested).unshift(next)
        if (!catalog) { log('no catalog from the relay yet; waiting'); putBack(); break }
        const controller = new AbortController()
        const ctx: PrintContext = { labId: args.lab, printer, journal, link, catalog, templatesDir: args.templates ?? undefined, log, signal: controller.signal }
        current = { order: next, controller }
        try {
          if (report) {
            await reportOrder(ctx, next)
            continue
          }
          const outcome = await printOrder(ctx, next)
          relayRetryMs = RELAY_RETRY_MIN_MS
          // printOrder logs a failure itself, once.
          if (outcome.status === 'skipped') { log(`order ${next}: skipped: ${outcome.reason}`); notOurs.add(next) }
        } catch (error) {
          if (error instanceof RelayUnavailableError) {
            log(`order ${next}: waiting for the relay: ${error.message}`)
            if (report) putBack()
            retryLater()
            break
          }
          // Not expected (printOrder ends an order's own problems itself), and still never a loop.
          journal.setOrderState(next, 'failed', (error as Error).message)
          log(`order ${next}: failed: ${(error as Error).message}`)
        } finally {
          current = null
        }
      }
    } finally {
      busy = false
    }
  }

  /** The operator's `skip`: the order is not printed here (a job already sent finishes). */
  function skip(order: string): void {
    journal.setOrderState(order, 'failed', SKIPPED_REASON)
    for (let i = requested.indexOf(order); i >= 0; i = requested.indexOf(order)) requested.splice(i, 1)
    if (current?.order === order) current.controller.abort(new Error(SKIPPED_REASON))
    // Then the relay gets what the journal says the order ended as (a job in flight may still finish it).
    if (!reports.includes(order)) reports.push(order)
    log(`order ${order}: ${SKIPPED_REASON}`)
    void work()
  }

  // History goes into lab/<id> `history`; the relay stores each entry once and removes it from
  // the array, and that removal is the acknowledgement that it is durable at the relay.
  link.history.observe((event: Y.YArrayEvent<HistoryEntry>) => {
    const removed: string[] = []
    for (const item of event.changes.deleted) for (const entry of item.content.getContent() as HistoryEntry[]) removed.push(entry.id)
    if (removed.length) journal.acknowledge(removed)
  })
  const flushHistory = () => {
    if (!link.connected) return
    const present = new Set(link.history.toArray().map((entry) => entry.id))
    const unsent = journal.unacknowledgedHistory().filter((entry) => !present.has(entry.id))
    if (unsent.length === 0) return
    link.history.push(unsent)
    log(`history: sent ${unsent.length} entr${unsent.length === 1 ? 'y' : 'ies'} to the relay`)
  }
  const historyTimer = setInterval(flushHistory, args.historyIntervalSeconds * 1000)

  link.queue.observe(() => {
    notOurs.clear()
    log(`queue: ${waiting().length} order(s) waiting`)
    void work()
  })

  const operator = createInterface({ input: process.stdin, terminal: false })
  operator.on('line', (line) => {
    const [command, argument] = line.trim().split(/\s+/)
    switch (command) {
      case '': break
      case 'queue': log(`queue: ${waiting().join(' ') || '(empty)'}`); break
      case 'next': { const order = waiting()[0]; if (order) requested.push(order); else log('queue is empty'); void work(); break }
      case 'all': requested.push(...waiting()); void work(); break
      case 'print': if (argument) { requested.push(argument); void work() } else log('print needs an order id'); break
      case 'retry':
        if (!argument) { log('retry needs an order id'); break }
        // Items that ended without printing go again; completed ones never do.
        log(`order ${argument}: retry (${journal.forgetUnprinted(argument)} item(s) to send again)`)
        journal.setOrderState(argument, 'retry')
        if (reports.includes(argument)) reports.splice(reports.indexOf(argument), 1)
        requested.push(argument)
        void work()
        break
      case 'skip': if (argument) skip(argument); else log('skip needs an order id'); break
      case 'status':
        void printer.describe().then(
          (d) => log(`printer ${printer.uri}: ${d.state}${d.stateReasons.length ? ` (${d.stateReasons.join(', ')})` : ''}; relay ${link.connected ? 'connected' : 'not connected'}; ${busy ? 'printing' : 'idle'}; queue ${waiting().length}`),
          (error: Error) => log(`printer ${printer.uri}: ${error.message}`))
        break
      case 'flush': flushHistory(); break
      case 'quit': void shutdown(); break
      default: log(OPERATOR_HELP)
    }
  })

  async function shutdown(): Promise<void> {
    if (stopping) return
    stopping = true
    clearInterval(historyTimer)
    flushHistory()
    await new Promise((r) => setTimeout(r, 500)) // let the last history reach the relay
    operator.close()
    await lan?.close()
    link.close()
    await printer.close()
    journal.close()
    process.exit(0)
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)

  console.log(`lab ${args.lab} ready`)
  log(`printer ${printer.uri}; ${args.auto ? 'auto mode: orders print as soon as the printer is free' : OPERATOR_HELP}`)
  log(`queue: ${waiting().length} order(s) waiting`)
  // Orders that ended just before a crash or during an outage: the relay gets their progress now,
  // and the loop, stopped by an outage, goes on whenever the relay is back.
  const resume = () => {
    for (const { order } of journal.unreported()) if (!reports.includes(order) && current?.order !== order) reports.push(order)
    void work()
  }
  link.onSynced(resume)
  flushHistory()
  resume()
}
