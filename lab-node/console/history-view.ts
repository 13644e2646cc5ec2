// Today's printing history for the console, read from the lab's journal file (read-only, a
// second connection: the Journal class lists only what the relay has not acknowledged yet, and
// the console must show the whole day, acknowledged or not).
import Database from 'better-sqlite3'
import type { HistoryEntry } from '../../shared/schema.ts'
import type { HistoryRow, HistoryView } from '../../shared/console-wire.ts'

/** The newest journal entries looked at: a lab's day is far below this. */
const SCAN_LIMIT = 5_000

/**
 * A history entry as the console records a reprint: the shape the relay takes (no copies: never
 * charged), plus `reprint: true`, what the operator said and the items. The reprinted jobs' own
 * entries carry `reprint: true` and the reason too (print-order.ts).
 */
export type ReprintEntry = HistoryEntry & { reprint: true; reason: string; items: number[] }

export class JournalHistory {
  private readonly db: Database.Database
  private readonly newest

  constructor(journalFile: string) {
    this.db = new Database(journalFile, { readonly: true, fileMustExist: true })
    this.newest = this.db.prepare<[number], { entry: string }>('SELECT entry FROM history ORDER BY rowid DESC LIMIT ?')
  }

  /** The entries of the day `now` falls on in `timeZone`, newest first. */
  today(now: Date, timeZone: string, numberOf: (order: string) => string | null): HistoryView {
    const day = dayIn(now, timeZone)
    const rows: HistoryRow[] = []
    for (const { entry } of this.newest.all(SCAN_LIMIT)) {
      const e = JSON.parse(entry) as Partial<ReprintEntry>
      if (typeof e.printedAt !== 'string' || typeof e.order !== 'string' || dayIn(new Date(e.printedAt), timeZone) !== day) continue
      rows.push({
        id: String(e.id), order: e.order, number: numberOf(e.order), item: Number(e.item), printer: String(e.printer ?? ''),
        job: String(e.job ?? ''), copies: Number(e.copies ?? 0), status: String(e.status), at: e.printedAt,
        reprint: e.reprint === true || e.status === 'reprint', reason: typeof e.reason === 'string' ? e.reason : null, items: Array.isArray(e.items) ? e.items.map(Number) : null,
      })
    }
    rows.sort((a, b) => b.at.localeCompare(a.at))
    return { day, timeZone, rows }
  }

  close(): void {
    this.db.close()
  }
}

/** YYYY-MM-DD of `date` in `timeZone` (an unknown zone counts as UTC). */
export function dayIn(date: Date, timeZone: string): string {
  if (Number.isNaN(date.getTime())) return ''
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date)
  } catch {
    return date.toISOString().slice(0, 10)
  }
}
