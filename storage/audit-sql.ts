// The audit store's queries, written once for SQLite and PostgreSQL alike: a subclass says how a
// statement runs (`?` placeholders, numbered for pg), how a column is matched against a list, and
// how the daily report's day ranges are joined, which is where the two dialects part.
import type { AuditEntry, HistoryRow, ReceiptRow, ReceiptTotals, ReceptionStatus } from '../shared/audit.ts'
import type { AuditFilter, AuditStore, DailyFigures, DayRange, Listed, Position } from './audit-store.ts'
import {
  auditEntry, historyRow, receiptRow, sizesOf, waitingRow,
  type AuditRecord, type CustomerOf, type HistoryRecord, type ReceptionRecord, type WaitingRecord,
} from './audit-rows.ts'

/**
 * How one table is listed: in (time, key) order, which an index per filter column keeps cheap. A
 * filter is a column compared for equality, or a condition on one with a single `?` (`{column}`
 * stands for the column with the table's alias).
 */
export interface Table {
  name: string
  time: string
  key: string
  filters: Partial<Record<keyof AuditFilter, string | { column: string; condition: string }>>
}

/** The customer with that e-mail: one row of accounts' unique e-mail index, then the usual user filter. */
const BY_EMAIL = { column: 'user_id', condition: '{column} = (SELECT user_id FROM accounts WHERE email = ?)' }

export const RECEPTIONS: Table = {
  name: 'receptions', time: 'received_at', key: 'seq',
  filters: { lab: 'lab', user: 'user_id', front: 'front', status: 'status', number: 'number', email: BY_EMAIL },
}
export const HISTORY: Table = {
  name: 'history', time: 'printed_at', key: 'id',
  filters: {
    lab: 'lab', user: 'user_id', front: 'front', status: 'status', email: BY_EMAIL,
    // 0 or 1: SQLite's flag as it is, PostgreSQL's boolean from the text '0' or '1' it accepts.
    reprint: 'reprint',
    // The prints of the orders with that number (one per store that gave it), by receptions_by_number.
    number: { column: 'order_id', condition: '{column} IN (SELECT order_id FROM receptions WHERE number = ?)' },
  },
}
const ADMIN_AUDIT: Table = { name: 'admin_audit', time: 'at', key: 'id', filters: { admin: 'admin', action: 'action' } }
/** Orders waiting for photos, by first sight (the receipts listing's `status=waiting`). */
const WAITING: Table = { name: 'waiting_orders', time: 'first_seen', key: 'order_id', filters: { user: 'user_id', front: 'front', email: BY_EMAIL } }

/** A condition with its parameters, to AND into a WHERE. */
export interface Condition { sql: string; params: unknown[] }

export abstract class SqlAuditStore implements AuditStore {
  /** Runs one statement written with `?` placeholders; resolves to its rows. */
  protected abstract query<R>(sql: string, params: unknown[]): Promise<R[]>
  /** `column` is one of `values` (a page's users or orders: at most a page long), by the column's index. */
  protected abstract anyOf(column: string, values: string[]): Condition
  abstract daily(filter: AuditFilter, days: DayRange[], labs: string[]): Promise<DailyFigures>

  async receipts(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<ReceiptRow>> {
    const rows = await this.select<ReceptionRecord>(RECEPTIONS, filter, from, limit)
    const customer = await this.customers(rows.map((row) => row.user_id))
    return { rows: rows.map((row) => receiptRow(row, customer)), positionOf: (row) => ({ t: Date.parse(row.receivedAt), k: row.seq }) }
  }

  async waiting(filter: AuditFilter, from: Position | null, limit: number, labOf: (front: string) => string, currency: string): Promise<Listed<ReceiptRow>> {
    const rows = await this.select<WaitingRecord>(WAITING, filter, from, limit)
    const customer = await this.customers(rows.map((row) => row.user_id))
    return { rows: rows.map((row) => waitingRow(row, customer, labOf, currency)), positionOf: (row) => ({ t: Date.parse(row.receivedAt), k: row.order }) }
  }

  /**
   * By the discount columns the reception's writes keep (lab_discount_amount, front_discount_amount:
   * what each discount took off), so no receipt's lines are opened: a sum over the rows the
   * listing's own indexes find.
   */
  async totals(filter: AuditFilter): Promise<ReceiptTotals> {
    const { clauses, params } = equalities(RECEPTIONS, filter, '', ['status'])
    if (filter.since !== undefined) { clauses.push('received_at >= ?'); params.push(filter.since) }
    if (filter.until !== undefined) { clauses.push('received_at < ?'); params.push(filter.until) }
    // Only accepted orders earn or give anything; a status filter other than accepted sums nothing.
    clauses.push("status = 'accepted'")
    if (filter.status !== undefined && filter.status !== 'accepted') clauses.push('false')
    // CAST: PostgreSQL sums bigints as numeric, which pg would hand over as text.
    const [row] = await this.query<ReceiptTotals>(
      `SELECT count(*) AS orders, coalesce(CAST(sum(total) AS bigint), 0) AS revenue,
         -coalesce(CAST(sum(lab_discount_amount) AS bigint), 0) AS "labDiscount",
         -coalesce(CAST(sum(front_discount_amount) AS bigint), 0) AS "frontDiscount"
       FROM receptions WHERE ${clauses.join(' AND ')}`, params)
    return { orders: row.orders, revenue: row.revenue, labDiscount: row.labDiscount + 0, frontDiscount: row.frontDiscount + 0 }
  }

  async history(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<HistoryRow>> {
    const rows = await this.select<HistoryRecord>(HISTORY, filter, from, limit)
    // One reception read per order on the page, not per print (an order's prints come together).
    const orders = [...new Set(rows.map((row) => row.order_id))]
    const sizes = new Map<string, string[]>()
    if (orders.length) {
      const where = this.anyOf('order_id', orders)
      for (const r of await this.query<{ order_id: string; lines: string | object }>(`SELECT order_id, lines FROM receptions WHERE ${where.sql}`, where.params)) {
        sizes.set(r.order_id, sizesOf(r.lines))
      }
    }
    return { rows: rows.map((row) => historyRow(row, (order) => sizes.get(order) ?? [])), positionOf: (row) => ({ t: Date.parse(row.printedAt), k: row.id }) }
  }

  async auditLog(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<AuditEntry>> {
    const rows = await this.select<AuditRecord>(ADMIN_AUDIT, filter, from, limit)
    return { rows: rows.map(auditEntry), positionOf: (row) => ({ t: Date.parse(row.at), k: row.id }) }
  }

  async labActivity(lab: string): Promise<{ lastHistoryAt: number | null; lastPrintedAt: number | null }> {
    // Two maxima, each the end of one index (history_by_lab_received, history_by_lab).
    const [row] = await this.query<{ lastHistoryAt: number | null; lastPrintedAt: number | null }>(
      `SELECT (SELECT max(received_at) FROM history WHERE lab = ?) AS "lastHistoryAt",
              (SELECT max(printed_at) FROM history WHERE lab = ?) AS "lastPrintedAt"`, [lab, lab])
    return row
  }

  async reception(order: string): Promise<{ lab: string; status: ReceptionStatus } | null> {
    const [row] = await this.query<{ lab: string; status: ReceptionStatus }>('SELECT lab, status FROM receptions WHERE order_id = ?', [order])
    return row ?? null
  }

  async logChange(at: number, admin: string, action: string, detail: Record<string, unknown>): Promise<number> {
    const [row] = await this.query<{ id: number }>('INSERT INTO admin_audit (at, admin, action, detail) VALUES (?, ?, ?, ?) RETURNING id',
      [at, admin, action, JSON.stringify(detail)])
    return row.id
  }

  async settle(id: number, detail: Record<string, unknown>): Promise<void> {
    await this.query('UPDATE admin_audit SET detail = ? WHERE id = ?', [JSON.stringify(detail), id])
  }

  /** The customers of a page's rows, each account read once, by its primary key. */
  private async customers(users: string[]): Promise<CustomerOf> {
    const found = new Map<string, { name: string; email: string }>()
    const distinct = [...new Set(users)]
    if (distinct.length) {
      const where = this.anyOf('user_id', distinct)
      for (const a of await this.query<{ user_id: string; name: string; email: string }>(`SELECT user_id, name, email FROM accounts WHERE ${where.sql}`, where.params)) {
        found.set(a.user_id, { name: a.name, email: a.email })
      }
    }
    return (user) => found.get(user) ?? { name: null, email: null }
  }

  private select<R>(table: Table, filter: AuditFilter, from: Position | null, limit: number): Promise<R[]> {
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
    return this.query<R>(`SELECT * FROM ${table.name}${where} ORDER BY ${table.time}, ${table.key} LIMIT ?`, [...params, limit])
  }
}

/** `column = ?` (or the filter's condition) for each filter the table has and the caller did not `skip`; `sql` joins them with AND. */
export function equalities(table: Table, filter: AuditFilter, alias = '', skip: Array<keyof AuditFilter> = []) {
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
