// The operator console's JSON as it travels between the lab node and the page (web/console/):
// types only, so the page imports them without pulling in any of the lab node.

/** One item of an order as the operator sees it: what to print, how many, on which printer. */
export interface ConsoleItem {
  index: number
  /** The photo's sha256; its thumbnail is at `thumbnail` (operator token required). */
  image: string
  thumbnail: string
  product: string
  productName: string
  /** Print size from the catalog, e.g. `89×127 mm`. */
  size: string
  media: string | null
  copies: number
  template: string
  templateName: string
  /** The printer whose media fits, or null when none does. */
  printer: string | null
  /** How this item's last job ended here, when it has been sent. */
  job: { state: string; reason: string | null } | null
}

export interface ConsoleOrder {
  id: string
  /** receipt.number, the short number the customer was given; null until the order document is read. */
  number: string | null
  customer: { id: string | null; name: string | null }
  receivedAt: string
  front: string
  /** The lab's state: journaled here, else the order's progress, else `queued`. */
  state: string
  reason: string | null
  /** Kept back by the operator: print next / print all pass it over. */
  held: boolean
  items: ConsoleItem[]
  /** Why the order's details could not be read (relay out of reach, not this lab's any more). */
  problem: string | null
}

export interface QueueView {
  orders: ConsoleOrder[]
  /** Orders waiting beyond those listed. */
  more: number
  /** --auto: orders print as soon as a printer is free (hold is not available then). */
  auto: boolean
  busy: boolean
  relayConnected: boolean
  /** The catalog's time zone, in which times are shown. */
  timeZone: string
}

export interface PrinterView {
  uri: string
  state: string
  stateReasons: string[]
  media: string[]
  /** Why the printer could not be asked. */
  error: string | null
}

export interface HistoryRow {
  id: string
  order: string
  number: string | null
  item: number
  printer: string
  job: string
  copies: number
  /** completed, aborted, canceled, failed, ready, collected, reprint. */
  status: string
  at: string
  /** The reprint entry itself, or a job the operator's reprint sent (its entry says so to the relay too). */
  reprint: boolean
  /** A reprint's reason. */
  reason: string | null
  /** A reprint's items (indexes). */
  items: number[] | null
}

export interface HistoryView {
  /** The day shown, YYYY-MM-DD in `timeZone`. */
  day: string
  timeZone: string
  rows: HistoryRow[]
}

export type OrderAction = 'print' | 'hold' | 'release' | 'reprint' | 'ready' | 'collected'
export const ORDER_ACTIONS: readonly OrderAction[] = ['print', 'hold', 'release', 'reprint', 'ready', 'collected']

export interface ReprintRequest { items?: number[]; reason: string }

/** What an accepted action answers: `message` is a sentence for the operator. */
export interface ActionResult { order: string; action: OrderAction; message: string }

export interface ConsoleError { error: string }
