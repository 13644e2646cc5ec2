// What the admin audit shows (SPEC.md "Relay admins audit history, receipts and discounts"): the
// rows of the relay's /api/admin/ listings as JSON carries them, read by the CLI and the /admin/ page.
import type { DiscountDecision, PriceLine } from './schema.ts'

export type ReceptionStatus = 'accepted' | 'rejected' | 'cancelled'
export const RECEPTION_STATUSES: readonly ReceptionStatus[] = ['accepted', 'rejected', 'cancelled']
/** What the receipts listing filters by: a reception's status, or `waiting` (submitted, photos missing, not received yet). */
export type ReceiptStatus = ReceptionStatus | 'waiting'
export const RECEIPT_STATUSES: readonly ReceiptStatus[] = [...RECEPTION_STATUSES, 'waiting']

/** A reception with its receipt and discount decision. Times are ISO 8601, amounts minor units. */
export interface ReceiptRow {
  seq: number
  order: string
  /** The short order number, unique per store (shared/order-number.ts); null when rejected, or accepted before numbers. */
  number: string | null
  user: string
  /** The customer's display name and e-mail from their account; null when the account is gone. */
  name: string | null
  email: string | null
  /** The store that received the order, and the one that hands it over (null: the same, or not known). */
  front: string
  pickupFront: string | null
  lab: string
  /** For a waiting order: when the relay first saw the submission. */
  receivedAt: string
  status: ReceiptStatus
  /** For a waiting order: the photos the relay does not have yet. */
  missing?: string[]
  error: string | null
  lines: PriceLine[]
  total: number
  currency: string
  /** The decision as recorded: which previous order, within which period, the tier's amount. */
  discount: DiscountDecision | null
  /** The store's own discount on its fee (fronts[].discounts), null when none. */
  frontDiscount: DiscountDecision | null
  /** What the receipt actually took off, both discounts (each clamped to its charge), as a positive amount; 0 without. */
  discountApplied: number
  /**
   * When the order was submitted through a lab node in the store: its signed stamp, and whether
   * the reception is dated by it (else why not). Null for orders the relay received directly.
   */
  inStore: { lab: string; stampedAt: string; used: boolean; reason?: string } | null
}

/** One printing-history entry a lab reported; `user` and `front` are null when no reception matched. */
export interface HistoryRow {
  id: string
  lab: string
  order: string
  item: number
  printer: string
  job: string
  copies: number
  status: string
  printedAt: string
  receivedAt: string
  user: string | null
  front: string | null
  /** The print size (product name) of that item, as its receipt line has it; null when not known. */
  size: string | null
  /**
   * Only on a print the lab's operator asked for again (never charged again): `reprint: true` and what
   * they said (null when the lab sent no reason). The orders' own prints carry neither field.
   */
  reprint?: true
  reason?: string | null
}

/** The longest reprint reason the relay keeps (the lab's console takes no longer); longer ones are cut. */
export const MAX_REPRINT_REASON = 200

export interface LabStatus {
  id: string
  name: string
  /** Orders in the lab's queue now; null when the relay cannot tell (not wired). */
  queue: number | null
  /** When the relay last stored history from this lab, and the latest print time in it. */
  lastHistoryAt: string | null
  lastPrintedAt: string | null
  /** When the lab's node was last heard from (heartbeat, sync socket opened or closed), kept across relay restarts; null when never. */
  lastSeen: string | null
  /** Heard from within three of its heartbeat intervals. */
  online: boolean
  /**
   * Each printer as the lab node last reported it: `state` idle | processing | stopped | unreachable,
   * IPP printer-state-reasons, and the media it holds (PWG 5101.1 names; [] when the lab did not say).
   */
  printers: { uri: string; state: string; reasons: string[]; media: string[] }[]
}

/** One change an admin made, who and when; `detail` says what (and how it ended). */
export interface AuditEntry {
  id: number
  at: string
  admin: string
  action: string
  detail: Record<string, unknown>
}

/** Totals of one calendar day in the relay's time zone. */
export interface DayTotals {
  day: string
  /** Accepted receptions. */
  orders: number
  /** Receptions that got a discount, and the sum the receipts took off. */
  discounted: number
  discountAmount: number
  /**
   * Copies printed to completion, per lab: paper through the printer, so an operator's reprint counts
   * here too (the day's orders and discounts come from receipts only, which a reprint never touches).
   */
  prints: Record<string, number>
  /** Of those, the copies that were reprints, per lab; absent on a day without any. */
  reprints?: Record<string, number>
}

export interface DailyReport {
  timeZone: string
  currency: string
  days: DayTotals[]
}

/** A page of a listing: `next` is the cursor for `after=` to read on, null at the end. */
export interface Page<Row> {
  rows: Row[]
  next: string | null
  /** Receipts only: sums over every row the filter matches (all pages), not only this page's. */
  totals?: ReceiptTotals
}

/**
 * Sums over the receipts a filter matches: accepted orders, what they charged, and the discounts
 * given, as negative amounts (a deduction is negative everywhere: -200), the lab's and the stores'.
 */
export interface ReceiptTotals { orders: number; revenue: number; labDiscount: number; frontDiscount: number }

export const LISTINGS = ['receipts', 'history', 'labs', 'audit'] as const
export type Listing = (typeof LISTINGS)[number]

/** Listing page sizes: the default, and the most one JSON page carries. */
export const PAGE_DEFAULT = 100
export const PAGE_MAX = 1000

/** An item as people count it: the first print is 1 (the wire's `item` counts from 0), in the page, CSV and CLI alike. */
export const itemNumber = (item: number): number => item + 1

/** The sum of a receipt's discount lines given by `by` (lines without `by`, from before stores had discounts, are the lab's): negative or 0. */
export function discountBy(lines: readonly PriceLine[], by: 'lab' | 'front'): number {
  return lines.reduce((sum, line) => sum + (line.kind === 'discount' && (line.by ?? 'lab') === by ? line.amount : 0), 0)
}

/** A lab's printers on one line, as the CLI table and the CSV show them: `URI state (reason, …); …`. */
export function printerStates(printers: ReadonlyArray<Pick<LabStatus['printers'][number], 'uri' | 'state' | 'reasons'>>): string {
  return printers.map((p) => `${p.uri} ${p.state}${p.reasons.length ? ` (${p.reasons.join(', ')})` : ''}`).join('; ')
}

/** The media each printer holds on one line, as the CSV's `media` column has it: `URI: name name; …` (printers without media left out). */
export function printerMedia(printers: LabStatus['printers']): string {
  return printers.filter((p) => p.media.length).map((p) => `${p.uri}: ${p.media.join(' ')}`).join('; ')
}
