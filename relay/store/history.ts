// Printing history as the relay keeps it for audit: one row per entry id, whatever a lab resends;
// a reprint the lab's operator asked for is kept as such, with its reason (never charged again).
import type { DB } from '../../storage/sqlite/database.ts'
import type { HistoryEntry } from '../../shared/schema.ts'
import { MAX_REPRINT_REASON } from '../../shared/audit.ts'

/**
 * An entry as a lab reports it: the order's own print, or (additive fields, lab nodes from issue 15
 * on) a reprint with the operator's reason.
 */
export type ReportedEntry = HistoryEntry & { reprint?: boolean; reason?: string | null }

/** The reason as kept: text cut to MAX_REPRINT_REASON characters (not UTF-16 units), null for none. */
export function reprintReason(reason: unknown): string | null {
  if (typeof reason !== 'string' || reason.length === 0) return null
  return Array.from(reason).slice(0, MAX_REPRINT_REASON).join('')
}

/**
 * Where reported history is kept. record() stores each entry once per entry id, whatever a lab
 * resends and whichever relays receive it, at once or later; it resolves once the entries are durable.
 */
export interface HistoryStore {
  /** Stores entries in one transaction; resolves to how many were new. A reason is kept only with a reprint. */
  record(lab: string, entries: ReportedEntry[], receivedAt: Date): Promise<number>
}

/** A history row's own columns, as both dialects write them (user and front come from the reception). */
export interface HistoryRow {
  id: string; lab: string; order: string; item: number; printer: string; job: string; copies: number
  status: string; printedAt: number; receivedAt: number; reprint: boolean; reason: string | null
}

export function historyRow(lab: string, e: ReportedEntry, receivedAt: Date): HistoryRow {
  const reprint = e.reprint === true
  return {
    id: e.id, lab, order: e.order, item: e.item, printer: e.printer, job: String(e.job), copies: e.copies,
    status: e.status, printedAt: Date.parse(e.printedAt), receivedAt: receivedAt.getTime(),
    reprint, reason: reprint ? reprintReason(e.reason) : null,
  }
}

/** The embedded default: history in the relay's SQLite file (synchronous, so done by the time record() returns). */
export class History implements HistoryStore {
  private readonly insert

  constructor(private readonly db: DB) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO history (id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front, reprint, reason)
      SELECT @id, @lab, @order, @item, @printer, @job, @copies, @status, @printedAt, @receivedAt, r.user_id, r.front, @reprint, @reason
      FROM (SELECT 1) LEFT JOIN receptions r ON r.order_id = @order`)
  }

  async record(lab: string, entries: ReportedEntry[], receivedAt: Date): Promise<number> {
    return this.db.transaction(() => {
      let added = 0
      for (const e of entries) {
        const row = historyRow(lab, e, receivedAt)
        added += this.insert.run({ ...row, reprint: row.reprint ? 1 : 0 }).changes
      }
      return added
    }).immediate()
  }
}
