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
import { printOrder } from './print-order.ts'
import { startLanServer, type LanServer } from './lan/server.ts'

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

const OPERATOR_HELP = 'commands: queue | next | print <order> | all | retry <order> | status | flush | quit'

export async function runLab(args: LabArgs): Promise<void> {
  const dataDir = resolve(args.data)
  const log = (line: string) => console.log(`[${new Date().toISOString()}] ${line}`)
  const journal = new Journal(join(dataDir, 'lab.sqlite'))
  const printer = openPrinter(args.printer)
  const link = new RelayLink(args.relay.replace(/\/$/, ''), args.lab, args.key, join(dataDir, 'photos'))
  // The in-store server starts first: the store keeps taking orders while the relay is out of reach.
  let lan: LanServer | null = null
  if (args.listen) {
    lan = await startLanServer({ ...args.listen, tls: args.tls ?? undefined, dataDir, relayUrl: args.relay, labId: args.lab, labKey: args.key, log })
    link.lanPhotoPath = lan.photoPath
    log(`in-store server listening on ${lan.url.replace(/^http/, 'ws')} (terminals sync at /sync/<room>, upload photos at /api/images/ and /api/uploads/)`)
  }
  await link.ready(5_000).catch((error: Error) => log(`relay not reachable yet (${error.message}); working from the journal and waiting`))

  let busy = false
  let stopping = false
  const requested: string[] = []
  const waiting = () => [...link.queue.entries()]
    .sort(([, a], [, b]) => a.receivedAt.localeCompare(b.receivedAt))
    .map(([order]) => order)
    .filter((order) => {
      const state = journal.orderState(order)?.state
      return state !== 'printed' && state !== 'failed'
    })

  async function work(): Promise<void> {
    if (busy || stopping) return
    busy = true
    try {
      for (;;) {
        const next = requested.shift() ?? (args.auto ? waiting()[0] : undefined)
        if (!next || stopping) break
        const catalog = link.catalog()
        if (!catalog) { log('no catalog from the relay yet; waiting'); requested.unshift(next); break }
        const outcome = await printOrder({ labId: args.lab, printer, journal, link, catalog, templatesDir: args.templates ?? undefined, log }, next)
          .catch((error: Error) => ({ status: 'failed' as const, reason: error.message }))
        if (outcome.status !== 'printed') log(`order ${next}: ${outcome.status}: ${outcome.reason}`)
        if (outcome.status === 'failed' && /relay|refused/.test(outcome.reason)) break
      }
    } finally {
      busy = false
    }
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
      case 'retry': if (argument) { journal.setOrderState(argument, 'retry'); requested.push(argument); void work() } else log('retry needs an order id'); break
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
  flushHistory()
  void work()
}
