// The admin audit's reads: receptions (with their discount decisions) and printing history by
// filter in keyset pages, daily totals, each lab's last activity; and the log of admin changes
// (admin_audit), the one table here this module writes.
import type { DB } from '../../storage/sqlite/database.ts'
import type { StoreStampNote } from './receptions.ts'
import type { AuditEntry, HistoryRow, ReceiptRow, ReceiptTotals, ReceptionStatus } from '../../shared/audit.ts'
import type { DiscountDecision, PriceLine } from '../../shared/schema.ts'

/** Filters every listing understands; times are epoch milliseconds, `since` inclusive, `until` exclusive. */
export interface AuditFilter {
  lab?: string
  user?: string
  front?: string
  status?: string
  admin?: string
  action?: string
  /** An order number in canonical form (shared/order-number.ts parse); with `front`, one order. */
  number?: string
  /** A customer's e-mail, normalized as accounts store it. */
  email?: string
  /** History only: 1 for the reprints the labs' operators asked for, 0 for the orders' own prints. */
  reprint?: 0 | 1
  since?: number
  until?: number
}

/** Where a listing stopped: the last row's time and its tie-breaker (seq, entry id or log id). */
export interface Position { t: number; k: number | string }

/**
 * How one table is listed: in (time, key) order, which an index per filter column keeps cheap. A
 * filter is a column compared for equality, or a condition on one with a single `?` (`{column}`
 * stands for the column with the table's alias).
 */
interface Table {
  name: string
  time: string
  key: string
  filters: Partial<Record<keyof AuditFilter, string | { column: string; condition: string }>>
}

/** The customer with that e-mail: one row of accounts' unique e-mail index, then the usual user filter. */
const BY_EMAIL = { column: 'user_id', condition: '{column} = (SELECT user_id FROM accounts WHERE email = ?)' }

const RECEPTIONS: Table = {
  name: 'receptions', time: 'received_at', key: 'seq',
  filters: { lab: 'lab', user: 'user_id', front: 'front', status: 'status', number: 'number', email: BY_EMAIL },
}
const HISTORY: Table = {
  name: 'history', time: 'printed_at', key: 'id',
  filters: {
    lab: 'lab', user: 'user_id', front: 'front', status: 'status', email: BY_EMAIL, reprint: 'reprint',
    // The prints of the orders with that number (one per store that gave it), by receptions_by_number.
    number: { column: 'order_id', condition: '{column} IN (SELECT order_id FROM receptions WHERE number = ?)' },
  },
}
const ADMIN_AUDIT: Table = { name: 'admin_audit', time: 'at', key: 'id', filters: { admin: 'admin', action: 'action' } }
/** Orders waiting for photos, by first sight (the receipts listing's `status=waiting`). */
const WAITING: Table = { name: 'waiting_orders', time: 'first_seen', key: 'order_id', filters: { user: 'user_id', front: 'front', email: BY_EMAIL } }

interface ReceptionRecord {
  seq: number; order_id: string; number: string | null; user_id: string; front: string; lab: string; received_at: number
  status: ReceptionStatus; error: string | null; lines: string; total: number; currency: string
  discount_order: string | null; discount_received_at: number | null; discount_within: string | null; discount_amount: number | null
  store_stamp: string | null; front_discount: string | null; pickup_front: string | null
}
interface WaitingRecord { order_id: string; user_id: string; front: string | null; first_seen: number; missing: string }
interface HistoryRecord {
  id: string; lab: string; order_id: string; item: number; printer: string; job: string; copies: number
  status: string; printed_at: number; received_at: number; user_id: string | null; front: string | null
  reprint: number; reason: string | null
}
interface AuditRecord { id: number; at: number; admin: string; action: string; detail: string }

const iso = (ms: number) => new Date(ms).toISOString()

/** The customer's name and e-mail by user id, looked up once per listing. */
type CustomerOf = (user: string) => { name: string | null; email: string | null }

function receiptRow(r: ReceptionRecord, customer: CustomerOf): ReceiptRow {
  const lines = JSON.parse(r.lines) as PriceLine[]
  return {
    seq: r.seq, order: r.order_id, number: r.number, user: r.user_id, ...customer(r.user_id), front: r.front, pickupFront: r.pickup_front,
    lab: r.lab, receivedAt: iso(r.received_at), status: r.status, error: r.error, lines, total: r.total, currency: r.currency,
    discount: r.discount_order === null ? null : {
      previousOrder: r.discount_order, previousReceivedAt: iso(r.discount_received_at!), within: r.discount_within!, amount: r.discount_amount!,
    },
    frontDiscount: r.front_discount === null ? null : JSON.parse(r.front_discount) as DiscountDecision,
    discountApplied: -lines.reduce((sum, line) => sum + (line.kind === 'discount' ? line.amount : 0), 0),
    inStore: inStoreOf(r.store_stamp),
  }
}

/** A waiting order as a receipts row: no number, price or lab decision yet, the photos it misses. */
function waitingRow(w: WaitingRecord, customer: CustomerOf, labOf: (front: string) => string, currency: string): ReceiptRow {
  return {
    seq: 0, order: w.order_id, number: null, user: w.user_id, ...customer(w.user_id), front: w.front ?? '', pickupFront: null,
    lab: w.front ? labOf(w.front) : '', receivedAt: iso(w.first_seen), status: 'waiting', missing: JSON.parse(w.missing) as string[],
    error: null, lines: [], total: 0, currency, discount: null, frontDiscount: null, discountApplied: 0, inStore: null,
  }
}

/** The print size of each item of an order, from its receipt's print lines (one per item, in item order). */
function sizesOf(linesJson: string | null): string[] {
  if (linesJson === null) return []
  return (JSON.parse(linesJson) as PriceLine[]).filter((line) => line.kind === 'print').map((line) => line.label.replace(/ × \d+$/, ''))
}

function inStoreOf(json: string | null): ReceiptRow['inStore'] {
  if (json === null) return null
  const note = JSON.parse(json) as StoreStampNote
  return { lab: note.lab, stampedAt: note.receivedAt, used: note.used, ...(note.reason ? { reason: note.reason } : {}) }
}

const historyRow = (h: HistoryRecord, sizes: (order: string) => string[]): HistoryRow => ({
  id: h.id, lab: h.lab, order: h.order_id, item: h.item, printer: h.printer, job: h.job, copies: h.copies, status: h.status,
  printedAt: iso(h.printed_at), receivedAt: iso(h.received_at), user: h.user_id, front: h.front, size: sizes(h.order_id)[h.item] ?? null,
  // Only a reprint says so (with its reason); the orders' own prints keep the shape they had.
  ...(h.reprint === 1 ? { reprint: true as const, reason: h.reason } : {}),
})

const auditEntry = (a: AuditRecord): AuditEntry => ({ id: a.id, at: iso(a.at), admin: a.admin, action: a.action, detail: JSON.parse(a.detail) as Record<string, unknown> })

/** A listing read in (time, key) order from a position; rows come out already shaped for the wire. */
export interface Listed<Row> {
  rows: Iterable<Row>
  /** The position of a row, for the cursor of the next page. */
  positionOf(row: Row): Position
}

export class AuditStore {
  /** Statements by SQL text: the filters present decide the text, so there are few of them. */
  private readonly statements = new Map<string, ReturnType<DB['prepare']>>()
  private readonly stmt

  constructor(private readonly db: DB) {
    this.stmt = {
      log: db.prepare<[number, string, string, string]>('INSERT INTO admin_audit (at, admin, action, detail) VALUES (?, ?, ?, ?)'),
      settle: db.prepare<[string, number]>('UPDATE admin_audit SET detail = ? WHERE id = ?'),
      lastHistory: db.prepare<[string], { at: number | null }>('SELECT max(received_at) AS at FROM history WHERE lab = ?'),
      lastPrinted: db.prepare<[string], { at: number | null }>('SELECT max(printed_at) AS at FROM history WHERE lab = ?'),
      reception: db.prepare<[string], { lab: string; status: ReceptionStatus }>('SELECT lab, status FROM receptions WHERE order_id = ?'),
      customer: db.prepare<[string], { name: string; email: string }>('SELECT name, email FROM accounts WHERE user_id = ?'),
      lines: db.prepare<[string], { lines: string }>('SELECT lines FROM receptions WHERE order_id = ?'),
    }
  }

  /** Receptions matching `filter` after `from`, at most `limit`. */
  receipts(filter: AuditFilter, from: Position | null, limit: number): Listed<ReceiptRow> {
    const rows = this.select<ReceptionRecord>(RECEPTIONS, filter, from, limit)
    const customer = this.customers()
    return { rows: map(rows, (row) => receiptRow(row, customer)), positionOf: (row) => ({ t: Date.parse(row.receivedAt), k: row.seq }) }
  }

  /** Orders waiting for photos matching `filter` (user, front, email, since/until on first sight), oldest first. */
  waiting(filter: AuditFilter, from: Position | null, limit: number, labOf: (front: string) => string, currency: string): Listed<ReceiptRow> {
    const rows = this.select<WaitingRecord>(WAITING, filter, from, limit)
    const customer = this.customers()
    return { rows: map(rows, (row) => waitingRow(row, customer, labOf, currency)), positionOf: (row) => ({ t: Date.parse(row.receivedAt), k: row.order }) }
  }

  /**
   * Sums over every reception `filter` matches (not one page): accepted orders, their totals, and
   * the discounts by who gave them. Reads each matching row once, by the same indexes as the listing.
   */
  totals(filter: AuditFilter): ReceiptTotals {
    const { clauses, params } = equalities(RECEPTIONS, filter, '', ['status'])
    if (filter.since !== undefined) { clauses.push('received_at >= ?'); params.push(filter.since) }
    if (filter.until !== undefined) { clauses.push('received_at < ?'); params.push(filter.until) }
    // Only accepted orders earn or give anything; a status filter other than accepted sums nothing.
    clauses.push("status = 'accepted'")
    if (filter.status !== undefined && filter.status !== 'accepted') clauses.push('0')
    const row = this.prepared<{ orders: number; revenue: number | null; lab: number | null; front: number | null }>(
      `SELECT count(*) AS orders, sum(total) AS revenue,
         sum((SELECT sum(l.value ->> 'amount') FROM json_each(lines) l WHERE l.value ->> 'kind' = 'discount' AND coalesce(l.value ->> 'by', 'lab') = 'lab')) AS lab,
         sum((SELECT sum(l.value ->> 'amount') FROM json_each(lines) l WHERE l.value ->> 'kind' = 'discount' AND l.value ->> 'by' = 'front')) AS front
       FROM receptions WHERE ${clauses.join(' AND ')}`).all(...params)[0]
    return { orders: row.orders, revenue: row.revenue ?? 0, labDiscount: row.lab ?? 0, frontDiscount: row.front ?? 0 }
  }

  history(filter: AuditFilter, from: Position | null, limit: number): Listed<HistoryRow> {
    const rows = this.select<HistoryRecord>(HISTORY, filter, from, limit)
    // One reception read per order on the page, not per print (an order's prints come together).
    const cache = new Map<string, string[]>()
    const sizes = (order: string) => {
      let found = cache.get(order)
      if (!found) cache.set(order, (found = sizesOf(this.stmt.lines.get(order)?.lines ?? null)))
      return found
    }
    return { rows: map(rows, (row) => historyRow(row, sizes)), positionOf: (row) => ({ t: Date.parse(row.printedAt), k: row.id }) }
  }

  /** A customer lookup for one listing: each account read once, by its primary key. */
  private customers(): CustomerOf {
    const cache = new Map<string, { name: string | null; email: string | null }>()
    return (user) => {
      let found = cache.get(user)
      if (!found) {
        const row = this.stmt.customer.get(user)
        found = { name: row?.name ?? null, email: row?.email ?? null }
        if (cache.size < 10_000) cache.set(user, found)
      }
      return found
    }
  }

  auditLog(filter: AuditFilter, from: Position | null, limit: number): Listed<AuditEntry> {
    const rows = this.select<AuditRecord>(ADMIN_AUDIT, filter, from, limit)
    return { rows: map(rows, auditEntry), positionOf: (row) => ({ t: Date.parse(row.at), k: row.id }) }
  }

  /** When history from `lab` last arrived, and the latest print time it reported. */
  labActivity(lab: string): { lastHistoryAt: number | null; lastPrintedAt: number | null } {
    return { lastHistoryAt: this.stmt.lastHistory.get(lab)!.at, lastPrintedAt: this.stmt.lastPrinted.get(lab)!.at }
  }

  reception(order: string): { lab: string; status: ReceptionStatus } | null {
    return this.stmt.reception.get(order) ?? null
  }

  /**
   * Per-day totals for the given day boundaries ([start, end) in epoch ms, keyed by day name):
   * accepted receptions and their discounts; copies printed to completion per lab of `labs`.
   */
  daily(filter: AuditFilter, days: Array<{ day: string; start: number; end: number }>, labs: string[]): {
    orders: Array<{ day: string; orders: number; discounted: number; discount_amount: number }>
    prints: Array<{ day: string; lab: string; prints: number }>
  } {
    const ranges = JSON.stringify(days.map(({ day, start, end }) => [day, start, end]))
    // What the receipts took off is in their discount lines (each clamped to its own charge, the lab's
    // and the store's: pricing.ts), read only for receipts that had a discount decided.
    // Days outside (CROSS JOIN keeps that order), each a range search on received_at; the unary +
    // keeps the planner off the discount's partial indexes (user first), which it would scan whole.
    const r = equalities(RECEPTIONS, filter, 'r', ['status'])
    const orders = this.prepared<{ day: string; orders: number; discounted: number; discount_amount: number }>(
      `SELECT d.value ->> 0 AS day, count(*) AS orders, count(coalesce(r.discount_order, r.front_discount_order)) AS discounted,
         coalesce(sum(CASE WHEN r.discount_order IS NULL AND r.front_discount_order IS NULL THEN 0
           ELSE (SELECT -coalesce(sum(l.value ->> 'amount'), 0) FROM json_each(r.lines) l WHERE l.value ->> 'kind' = 'discount') END), 0) AS discount_amount
       FROM json_each(?) d CROSS JOIN receptions r ON r.received_at >= d.value ->> 1 AND r.received_at < d.value ->> 2
       WHERE +r.status = 'accepted'${r.sql} GROUP BY d.key ORDER BY d.key`).all(ranges, ...r.params)
    // One indexed sum per lab and day (history_prints covers it) rather than grouping every print
    // of the period in a temporary B-tree: ~20 times faster over 30 days of ten busy labs.
    const h = equalities(HISTORY, filter, 'h', ['status', 'lab'])
    const prints = this.prepared<{ day: string; lab: string; prints: number }>(
      `SELECT d.value ->> 0 AS day, l.value AS lab, (SELECT coalesce(sum(h.copies), 0) FROM history h WHERE h.lab = l.value
         AND h.status = 'completed' AND h.printed_at >= d.value ->> 1 AND h.printed_at < d.value ->> 2${h.sql}) AS prints
       FROM json_each(?) d, json_each(?) l ORDER BY d.key, l.key`).all(...h.params, ranges, JSON.stringify(labs))
    return { orders, prints: prints.filter((p) => p.prints > 0) }
  }

  /**
   * Writes a log entry before the change it describes is attempted, so a change interrupted by a
   * crash still shows (as pending). Returns its id for settle().
   */
  logChange(at: number, admin: string, action: string, detail: Record<string, unknown>): number {
    return Number(this.stmt.log.run(at, admin, action, JSON.stringify(detail)).lastInsertRowid)
  }

  /** Records how the logged change ended. */
  settle(id: number, detail: Record<string, unknown>): void {
    this.stmt.settle.run(JSON.stringify(detail), id)
  }

  private select<R>(table: Table, filter: AuditFilter, from: Position | null, limit: number): IterableIterator<R> {
    const { clauses, params } = equalities(table, filter)
    // The lower bound is the cursor when it lies inside the range, so a deep page starts where the
    // last one ended instead of at `since` (the index is searched, not scanned, on every page).
    if (from && (filter.since === undefined || from.t >= filter.since)) {
      clauses.push(`(${table.time}, ${table.key}) > (?, ?)`)
      params.push(from.t, from.k)
    } else if (filter.since !== undefined) {
      clauses.push(`${table.time} >= ?`)
      params.push(filter.since)
    }
    if (filter.until !== undefined) {
      clauses.push(`${table.time} < ?`)
      params.push(filter.until)
    }
    const where = clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''
    return this.prepared<R>(`SELECT * FROM ${table.name}${where} ORDER BY ${table.time}, ${table.key} LIMIT ?`).iterate(...params, limit)
  }

  private prepared<R>(sql: string) {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement as unknown as { iterate(...params: unknown[]): IterableIterator<R>; all(...params: unknown[]): R[] }
  }
}

/** `column = ?` (or the filter's condition) for each filter the table has and the caller did not `skip`; `sql` joins them with AND. */
function equalities(table: Table, filter: AuditFilter, alias = '', skip: Array<keyof AuditFilter> = []) {
  const clauses: string[] = []
  const params: Array<string | number> = []
  for (const [field, how] of Object.entries(table.filters) as Array<[keyof AuditFilter, string | { column: string; condition: string }]>) {
    const value = filter[field]
    if (value === undefined || skip.includes(field)) continue
    const { column, condition } = typeof how === 'string' ? { column: how, condition: '{column} = ?' } : how
    clauses.push(condition.replace('{column}', `${alias ? `${alias}.` : ''}${column}`))
    params.push(value)
  }
  return { clauses, params, sql: clauses.map((c) => ` AND ${c}`).join('') }
}

/**
 * The rows shaped for the wire. Read to the end first: shaping looks up accounts and receipts,
 * and the connection runs no other statement while one is iterating (at most a page, or the
 * CSV's read of 1000 rows, is held).
 */
function map<A, B>(rows: Iterable<A>, shape: (row: A) => B): B[] {
  return Array.from(rows).map(shape)
}
