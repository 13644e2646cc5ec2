// Printing history as the relay keeps it for audit: one row per entry id, whatever a lab resends.
import type { DB } from '../../storage/sqlite/database.ts'
import type { HistoryEntry } from '../../shared/schema.ts'

export class History {
  private readonly insert

  constructor(private readonly db: DB) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO history (id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front)
      SELECT @id, @lab, @order, @item, @printer, @job, @copies, @status, @printedAt, @receivedAt, r.user_id, r.front
      FROM (SELECT 1) LEFT JOIN receptions r ON r.order_id = @order`)
  }

  /** Stores entries in one transaction; returns how many were new. */
  record(lab: string, entries: HistoryEntry[], receivedAt: Date): number {
    return this.db.transaction(() => {
      let added = 0
      for (const e of entries) {
        added += this.insert.run({
          id: e.id, lab, order: e.order, item: e.item, printer: e.printer, job: String(e.job), copies: e.copies,
          status: e.status, printedAt: Date.parse(e.printedAt), receivedAt: receivedAt.getTime(),
        }).changes
      }
      return added
    }).immediate()
  }
}
