// What the console does, built only from the lab node's parts as they are (print queue, journal,
// printers, relay link, pickup): the queue with each order's details, the printers, today's
// history, the operator's actions on an order, and photos for thumbnails.
import type { Journal } from '../journal.ts'
import type { PrintQueue } from '../queue.ts'
import type { RelayLink } from '../relay-link.ts'
import type { Printer } from '../printers/printer.ts'
import { markPickup, type PickupContext } from '../pickup.ts'
import { conflict } from './errors.ts'
import { JournalHistory } from './history-view.ts'
import { MAX_LISTED, OrderViews } from './order-views.ts'
import { describePrinters, printerForMedia } from './printers-view.ts'
import { reprint } from './reprint.ts'
import type { ActionResult, HistoryView, OrderAction, PrinterView, QueueView } from '../../shared/console-wire.ts'

export interface ConsoleParts {
  labId: string
  /** --auto: the queue takes waiting orders by itself (passing over held ones). */
  auto: boolean
  queue: Pick<PrintQueue, 'waiting' | 'request' | 'retry' | 'busy' | 'hold' | 'release' | 'isHeld'>
  journal: Pick<Journal, 'item' | 'orderState' | 'finish' | 'record' | 'markReprint'>
  /** The journal's SQLite file, read (read-only) for today's history. */
  journalFile: string
  printers: Printer[]
  link: Pick<RelayLink, 'queue' | 'catalog' | 'openOrder' | 'photo' | 'connected'>
  /** Sends new history entries to the relay now rather than at the next interval. */
  flushHistory: () => void
  log: (line: string) => void
  now?: () => Date
}

export interface ConsoleBackend {
  queue(): Promise<QueueView>
  printers(): Promise<PrinterView[]>
  history(): Promise<HistoryView>
  act(order: string, action: OrderAction, body: Record<string, unknown>): Promise<ActionResult>
  /** The photo's bytes (checked against its hash by the link). */
  photo(sha256: string): Promise<Buffer>
  close(): void
}

/** How long GET /api/queue waits for order documents it has just asked the relay for. */
const OPEN_WAIT_MS = 1_500
/** Orders of today's history whose numbers GET /api/history looks up at most per call, and for how long. */
const MAX_NUMBER_LOOKUPS = 20
const NUMBER_LOOKUP_MS = 2_000

export function consoleBackend(parts: ConsoleParts): ConsoleBackend {
  const now = parts.now ?? (() => new Date())
  const views = new OrderViews(parts.link, parts.journal)
  const history = new JournalHistory(parts.journalFile)
  const timeZone = () => parts.link.catalog()?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone

  const actions = orderActions(parts, now)

  return {
    async queue() {
      const waiting = parts.queue.waiting()
      const listed = waiting.slice(0, MAX_LISTED)
      const [descriptions] = await Promise.all([describePrinters(parts.printers), views.follow(listed, OPEN_WAIT_MS)])
      const printerFor = printerForMedia(descriptions)
      return {
        orders: listed.map((order) => views.view(order, parts.queue.isHeld(order), printerFor)),
        more: waiting.length - listed.length, auto: parts.auto, busy: parts.queue.busy, relayConnected: parts.link.connected, timeZone: timeZone(),
      }
    },
    printers: () => describePrinters(parts.printers),
    async history() {
      const day = history.today(now(), timeZone(), (order) => views.numbers.get(order) ?? null)
      // Orders printed before they were listed here: their numbers are read once, then remembered.
      const unknown = [...new Set(day.rows.filter((row) => row.number === null).map((row) => row.order))].slice(0, MAX_NUMBER_LOOKUPS)
      if (unknown.length === 0) return day
      await Promise.all(unknown.map((order) => views.read(order, NUMBER_LOOKUP_MS).catch(() => null)))
      for (const row of day.rows) row.number ??= views.numbers.get(row.order) ?? null
      return day
    },
    async act(order, action, body) {
      return { order, action, message: await actions[action](order, body) }
    },
    photo: (sha256) => parts.link.photo(sha256),
    close() {
      views.close()
      history.close()
    },
  }
}

/** What each operator action does: print, hold, release, reprint, ready, collected. */
function orderActions(parts: ConsoleParts, now: () => Date): Record<OrderAction, (order: string, body: Record<string, unknown>) => Promise<string>> {
  async function pickup(order: string, status: 'ready' | 'collected'): Promise<string> {
    let said = ''
    const ctx: PickupContext = { labId: parts.labId, link: parts.link, journal: parts.journal, now, log: (line) => { said = line; parts.log(line) } }
    // markPickup says why in its log line; the line is passed on to the operator, never read for a decision.
    if (!(await markPickup(ctx, order, status))) throw conflict(said.replace(/^order \S+: /, '') || `order ${order} was not marked ${status}`)
    parts.flushHistory()
    return said.replace(/^order \S+: /, '')
  }

  return {
    async print(order) {
      if (parts.queue.isHeld(order)) throw conflict(`order ${order} is on hold; release it first`)
      if (!parts.queue.waiting().includes(order)) throw conflict(`order ${order} is not waiting here (a printed or failed order is printed again with reprint)`)
      parts.queue.request(order)
      return parts.queue.busy ? 'asked for; it prints after the order being printed now' : 'asked for; printing'
    },
    async hold(order) {
      if (!parts.queue.waiting().includes(order)) throw conflict(`order ${order} is not waiting here`)
      parts.queue.hold(order)
      parts.log(`order ${order}: held by the operator`)
      return parts.auto ? 'on hold: the queue passes it over until it is released' : 'on hold: print next and print all pass it over'
    },
    async release(order) {
      if (!parts.queue.release(order)) throw conflict(`order ${order} is not on hold`)
      parts.log(`order ${order}: released by the operator`)
      return 'released'
    },
    async reprint(order, body) {
      const items = await reprint({ ...parts, now }, order, body)
      parts.flushHistory()
      return `reprinting item(s) ${items.map((i) => i + 1).join(', ')}`
    },
    ready: (order) => pickup(order, 'ready'),
    collected: (order) => pickup(order, 'collected'),
  }
}
