// The audit's stored rows as the admin API answers them, whichever database they came from: SQLite
// gives JSON columns as text and flags as 0/1, PostgreSQL jsonb already parsed and booleans.
import type { AuditEntry, HistoryRow, ReceiptRow, ReceptionStatus } from '../shared/audit.ts'
import type { DiscountDecision, PriceLine } from '../shared/schema.ts'

/** A JSON column: text (SQLite) or the value pg parsed from jsonb. */
type Json = string | object

export interface ReceptionRecord {
  seq: number; order_id: string; number: string | null; user_id: string; front: string; lab: string; received_at: number
  status: ReceptionStatus; error: string | null; lines: Json; total: number; currency: string
  discount_order: string | null; discount_received_at: number | null; discount_within: string | null; discount_amount: number | null
  store_stamp: Json | null; front_discount: Json | null; pickup_front: string | null
}
export interface WaitingRecord { order_id: string; user_id: string; front: string | null; first_seen: number; missing: Json }
export interface HistoryRecord {
  id: string; lab: string; order_id: string; item: number; printer: string; job: string; copies: number
  status: string; printed_at: number; received_at: number; user_id: string | null; front: string | null
  reprint: number | boolean; reason: string | null
}
export interface AuditRecord { id: number; at: number; admin: string; action: string; detail: Json }

/** The customer's name and e-mail by user id (null for an account that is gone). */
export type CustomerOf = (user: string) => { name: string | null; email: string | null }

/** A lab node's stamp as receptions keep it (relay/store/receptions.ts StoreStampNote). */
interface StoreStamp { lab: string; receivedAt: string; used: boolean; reason?: string }

const iso = (ms: number) => new Date(ms).toISOString()

/** A JSON column's value; every one holds an array or an object, never a bare string. */
export function parsed<T>(value: Json): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T
}

export function receiptRow(r: ReceptionRecord, customer: CustomerOf): ReceiptRow {
  const lines = parsed<PriceLine[]>(r.lines)
  return {
    seq: r.seq, order: r.order_id, number: r.number, user: r.user_id, ...customer(r.user_id), front: r.front, pickupFront: r.pickup_front,
    lab: r.lab, receivedAt: iso(r.received_at), status: r.status, error: r.error, lines, total: r.total, currency: r.currency,
    discount: r.discount_order === null ? null : {
      previousOrder: r.discount_order, previousReceivedAt: iso(r.discount_received_at!), within: r.discount_within!, amount: r.discount_amount!,
    },
    frontDiscount: r.front_discount === null ? null : parsed<DiscountDecision>(r.front_discount),
    discountApplied: -lines.reduce((sum, line) => sum + (line.kind === 'discount' ? line.amount : 0), 0),
    inStore: inStoreOf(r.store_stamp),
  }
}

/** A waiting order as a receipts row: no number, price or lab decision yet, the photos it misses. */
export function waitingRow(w: WaitingRecord, customer: CustomerOf, labOf: (front: string) => string, currency: string): ReceiptRow {
  return {
    seq: 0, order: w.order_id, number: null, user: w.user_id, ...customer(w.user_id), front: w.front ?? '', pickupFront: null,
    lab: w.front ? labOf(w.front) : '', receivedAt: iso(w.first_seen), status: 'waiting', missing: parsed<string[]>(w.missing),
    error: null, lines: [], total: 0, currency, discount: null, frontDiscount: null, discountApplied: 0, inStore: null,
  }
}

/** The print size of each item of an order, from its receipt's print lines (one per item, in item order). */
export function sizesOf(lines: Json | null): string[] {
  if (lines === null) return []
  return parsed<PriceLine[]>(lines).filter((line) => line.kind === 'print').map((line) => line.label.replace(/ × \d+$/, ''))
}

function inStoreOf(json: Json | null): ReceiptRow['inStore'] {
  if (json === null) return null
  const note = parsed<StoreStamp>(json)
  return { lab: note.lab, stampedAt: note.receivedAt, used: note.used, ...(note.reason ? { reason: note.reason } : {}) }
}

export const historyRow = (h: HistoryRecord, sizes: (order: string) => string[]): HistoryRow => ({
  id: h.id, lab: h.lab, order: h.order_id, item: h.item, printer: h.printer, job: h.job, copies: h.copies, status: h.status,
  printedAt: iso(h.printed_at), receivedAt: iso(h.received_at), user: h.user_id, front: h.front, size: sizes(h.order_id)[h.item] ?? null,
  // Only a reprint says so (with its reason); the orders' own prints keep the shape they had.
  ...(h.reprint === 1 || h.reprint === true ? { reprint: true as const, reason: h.reason } : {}),
})

export const auditEntry = (a: AuditRecord): AuditEntry =>
  ({ id: a.id, at: iso(a.at), admin: a.admin, action: a.action, detail: parsed<Record<string, unknown>>(a.detail) })
