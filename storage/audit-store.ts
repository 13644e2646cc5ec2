// The admin audit's store: receptions, printing history and the admin change log read by filter in
// keyset pages, with the sums the admin pages show; one interface, SQLite (storage/sqlite) and
// PostgreSQL (storage/postgres) behind it, both proven by tests/conformance/audit-store.ts.
import type { AuditEntry, HistoryRow, ReceiptRow, ReceiptTotals, ReceptionStatus } from '../shared/audit.ts'

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

/** A page read in (time, key) order from a position; rows already shaped for the wire. */
export interface Listed<Row> {
  rows: Row[]
  /** The position of a row, for the cursor of the next page. */
  positionOf(row: Row): Position
}

/** One day of a daily report: [start, end) in epoch ms, named `day` (YYYY-MM-DD). */
export interface DayRange { day: string; start: number; end: number }

/** The daily report's figures; days and labs with nothing to count are left out of `prints` and `reprints`. */
export interface DailyFigures {
  /** Accepted receptions per day, those with a discount decided, and what their discounts took off (positive). */
  orders: Array<{ day: string; orders: number; discounted: number; discount_amount: number }>
  /** Copies printed to completion per day and lab (reprints included). */
  prints: Array<{ day: string; lab: string; prints: number }>
  /** The part of `prints` the labs' operators asked for again. */
  reprints: Array<{ day: string; lab: string; reprints: number }>
}

/**
 * Every listing is bounded by its `limit` and read by an index on (time, key) from `from`
 * (exclusive) or `filter.since`, so a deep page costs what the first does. Reads see what was
 * committed before they started; none holds anything across calls.
 */
export interface AuditStore {
  /** Receptions matching `filter` after `from`, at most `limit`, each with its customer's name and e-mail. */
  receipts(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<ReceiptRow>>
  /** Orders waiting for photos (user, front, email, since/until on first sight), oldest first, as receipts rows. */
  waiting(filter: AuditFilter, from: Position | null, limit: number, labOf: (front: string) => string, currency: string): Promise<Listed<ReceiptRow>>
  /**
   * Sums over every reception `filter` matches (not one page): accepted orders, their totals, and
   * the discounts applied by who gave them (negative). From stored amounts, never a receipt's lines.
   */
  totals(filter: AuditFilter): Promise<ReceiptTotals>
  /** Printing history matching `filter` after `from`, at most `limit`, each print with its size. */
  history(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<HistoryRow>>
  /** The admin change log matching `filter` (admin, action, since/until) after `from`, at most `limit`. */
  auditLog(filter: AuditFilter, from: Position | null, limit: number): Promise<Listed<AuditEntry>>
  /** When history from `lab` last arrived, and the latest print time it reported (epoch ms, null for none). */
  labActivity(lab: string): Promise<{ lastHistoryAt: number | null; lastPrintedAt: number | null }>
  /** The reception of `order` (its lab and status), or null when none was recorded. */
  reception(order: string): Promise<{ lab: string; status: ReceptionStatus } | null>
  /** Per-day figures for `days` (lab, user and front of `filter`), prints for each lab of `labs`. */
  daily(filter: AuditFilter, days: DayRange[], labs: string[]): Promise<DailyFigures>
  /**
   * Writes a log entry, durably, before the change it describes is attempted, so a change
   * interrupted by a crash still shows (as pending). Resolves to its id for settle().
   */
  logChange(at: number, admin: string, action: string, detail: Record<string, unknown>): Promise<number>
  /** Records, durably, how the logged change ended: the entry's detail becomes `detail`. */
  settle(id: number, detail: Record<string, unknown>): Promise<void>
}
