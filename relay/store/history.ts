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

export class History {
  private readonly insert

  constructor(private readonly db: DB) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO history (id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front, reprint, reason)
      SELECT @id, @lab, @order, @item, @printer, @job, @copies, @status, @printedAt, @receivedAt, r.user_id, r.front, @reprint, @reason
      FROM (SELECT 1) LEFT JOIN receptions r ON r.order_id = @order`)
  }

  /** Stores entries in one transaction; returns how many were new. A reason is kept only with a reprint. */
  record(lab: string, entries: ReportedEntry[], receivedAt: Date): number {
    return this.db.transaction(() => {
      let added = 0
      for (const e of entries) {
        const reprint = e.reprint === true
        added += this.insert.run({
          id: e.id, lab, order: e.order, item: e.item, printer: e.printer, job: String(e.job), copies: e.copies,
          status: e.status, printedAt: Date.parse(e.printedAt), receivedAt: receivedAt.getTime(),
          reprint: reprint ? 1 : 0, reason: reprint ? reprintReason(e.reason) : null,
        }).changes
      }
      return added
    }).immediate()
  }
}
