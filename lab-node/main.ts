// `labsync lab`: watches the lab's queue at the relay, pulls an order only when it is about to
// print it (--auto: as soon as the printer is free; otherwise when the operator asks on stdin),
// and reports its printing history to the relay every --history-interval seconds. This file
// only wires the parts together: queue.ts, history.ts, operator.ts, lan/.
import { join, resolve } from 'node:path'
import { Journal } from './journal.ts'
import { RelayLink } from './relay-link.ts'
import { openPrinter } from './printers/open.ts'
import type { Printer } from './printers/printer.ts'
import { PrinterFleet } from './printers/fleet.ts'
import { ConfigError } from '../shared/errors.ts'
import { envWholeNumber } from '../bin/env.ts'
import { PrintQueue } from './queue.ts'
import { holdsFile } from './holds.ts'
import { HistoryReport } from './history.ts'
import { listenToOperator, OPERATOR_HELP, type OperatorActions } from './operator.ts'
import { markPickup, type PickupContext } from './pickup.ts'
import type { LanServer } from './lan/server.ts'
import type { ConsoleParts } from './console/backend.ts'
import { presenceIntervalMs, startPresence } from './presence.ts'

export interface LabArgs {
  relay: string
  lab: string
  key: string
  /** One --printer value, or several joined by newlines (bin/options.ts repeatedValues), each `URI[#media=M1,M2]`. */
  printer: string
  data: string
  templates: string | null
  historyIntervalSeconds: number
  auto: boolean
  /** HOST:PORT for the in-store server, or null for none. */
  listen: { host: string; port: number } | null
  /** PEM certificate and key: the in-store server speaks https/wss. */
  tls?: { cert: string; key: string } | null
  /** HOST:PORT for the operator console, with its token; null for none. */
  console?: { host: string; port: number; token: string } | null
}

/** How long shutdown waits for the relay to acknowledge the last history it was sent. */
const LAST_HISTORY_ACK_MS = 2_000

type Log = (line: string) => void

export async function runLab(args: LabArgs): Promise<void> {
  const dataDir = resolve(args.data)
  const log: Log = (line) => console.log(`[${new Date().toISOString()}] ${line}`)
  const journal = new Journal(join(dataDir, 'lab.sqlite'))
  const printers = openPrinters(args.printer)
  const fleet = new PrinterFleet(printers)
  const link = new RelayLink(args.relay.replace(/\/$/, ''), args.lab, args.key, join(dataDir, 'photos'))
  // The in-store server starts first: the store keeps taking orders while the relay is out of reach.
  const lan = args.listen ? await startLan(args, args.listen, dataDir, link, log) : null
  await link.ready(5_000).catch((error: Error) => log(`relay not reachable yet (${error.message}); working from the journal and waiting`))

  const queue = new PrintQueue({ labId: args.lab, auto: args.auto, fleet, journal, holds: holdsFile(dataDir), link, templatesDir: args.templates ?? undefined, log })
  const history = new HistoryReport(link, journal, log)
  history.start(args.historyIntervalSeconds * 1000)
  const presence = startPresence({ relayUrl: args.relay, labId: args.lab, key: args.key }, printers, { intervalMs: presenceIntervalMs(args.historyIntervalSeconds), log })
  link.queue.observe(() => queue.queueChanged())

  let stopping = false
  async function shutdown(): Promise<void> {
    if (stopping) return
    stopping = true
    queue.stop()
    history.stop()
    presence.stop()
    history.flush()
    await history.acknowledged(LAST_HISTORY_ACK_MS)
    operator.close()
    await lan?.close()
    await consoleServer?.close()
    link.close()
    await Promise.all(printers.map((printer) => printer.close()))
    journal.close()
    process.exit(0)
  }
  const pickup = { labId: args.lab, link, journal, log }
  const consoleServer = args.console
    ? await startConsoleFor(args.console, { labId: args.lab, auto: args.auto, queue, journal, journalFile: join(dataDir, 'lab.sqlite'), printers, link, flushHistory: () => history.flush(), log })
    : null
  const operator = listenToOperator(process.stdin, operatorActions(queue, history, printers, link, log, shutdown, pickup), log)
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)

  console.log(`lab ${args.lab} ready`)
  log(`${printers.length === 1 ? 'printer' : 'printers'} ${printers.map((p) => p.uri).join(', ')}; ${args.auto ? 'auto mode: orders print as soon as the printer is free' : OPERATOR_HELP}`)
  log(`queue: ${queue.waiting().length} order(s) waiting`)
  link.onSynced(() => queue.resume())
  // An operator sees the relay link come and go (the lab prints what it holds meanwhile).
  link.onConnectionChange((joined) => log(joined ? 'relay: connected' : 'relay: connection lost; reconnecting'))
  history.flush()
  queue.resume()
}

async function startLan(args: LabArgs, listen: NonNullable<LabArgs['listen']>, dataDir: string, link: RelayLink, log: Log): Promise<LanServer> {
  // Loaded only when asked for: a lab without --listen starts (and restarts after a crash) faster.
  const { startLanServer } = await import('./lan/server.ts')
  // LABSYNC_LAN_POLL_MS: how often it fetches sign-outs and the relay's clock and passes on waiting
  // photos (10 s unless set; tests set it small so as not to wait the interval out).
  const pollMs = envWholeNumber('LABSYNC_LAN_POLL_MS')
  const lan = await startLanServer({ ...listen, tls: args.tls ?? undefined, dataDir, relayUrl: args.relay, labId: args.lab, labKey: args.key, pollMs, log })
  link.lanPhotoPath = lan.photoPath
  log(`in-store server listening on ${lan.url.replace(/^http/, 'ws')} (terminals sync at /sync/<room> or, all their documents on one socket, /sync-mux; upload photos at /api/images/ and /api/uploads/)`)
  return lan
}

async function startConsoleFor(listen: NonNullable<LabArgs['console']>, parts: ConsoleParts) {
  // Loaded only when asked for, like the in-store server.
  const { consoleBackend } = await import('./console/backend.ts')
  const { startConsole } = await import('./console/server.ts')
  return startConsole({ ...listen, backend: consoleBackend(parts), webDir: resolve(import.meta.dirname, '..', 'dist'), log: parts.log })
}

/** Each --printer value opened; a value that names no printer we can use is a ConfigError (exit 2). */
function openPrinters(value: string): Printer[] {
  const values = value.split('\n') // bin/options.ts joins a repeated option's values with newlines
  if (new Set(values).size < values.length) throw new ConfigError('lab: the same --printer is given twice')
  return values.map((one) => {
    try {
      return openPrinter(one)
    } catch (error) {
      if (error instanceof ConfigError) throw error
      throw new ConfigError(`lab: --printer "${one}": ${(error as Error).message}`)
    }
  })
}

function operatorActions(
  queue: PrintQueue, history: HistoryReport, printers: Printer[], link: RelayLink, log: Log, quit: () => Promise<void>, pickup: PickupContext,
): OperatorActions {
  return {
    queue: () => log(`queue: ${queue.waiting().join(' ') || '(empty)'}`),
    next: () => {
      const order = queue.waiting()[0]
      if (order) queue.request(order)
      else { log('queue is empty'); queue.request() }
    },
    all: () => queue.request(...queue.waiting()),
    print: (order) => queue.request(order),
    retry: (order) => queue.retry(order),
    skip: (order) => queue.skip(order),
    // Then history.flush() sends the new history entry at once rather than at the next interval.
    ready: (order) => void markPickup(pickup, order, 'ready').then((done) => { if (done) history.flush() }),
    collected: (order) => void markPickup(pickup, order, 'collected').then((done) => { if (done) history.flush() }),
    status: () => {
      for (const printer of printers) {
        void printer.describe().then(
          (d) => log(`printer ${printer.uri}: ${d.state}${d.stateReasons.length ? ` (${d.stateReasons.join(', ')})` : ''}; media ${d.media.join(', ') || '(none)'}`),
          (error: Error) => log(`printer ${printer.uri}: ${error.message}`))
      }
      log(`relay ${link.connected ? 'connected' : 'not connected'}; ${queue.busy ? 'printing' : 'idle'}; queue ${queue.waiting().length}`)
    },
    flush: () => history.flush(),
    quit: () => void quit(),
  }
}
