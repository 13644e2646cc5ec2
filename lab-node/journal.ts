// The lab node's local SQLite journal: what it intends to print, what the printer accepted, how
// each job ended, and the printing history still to report to the relay. It is what makes an
// item print at most once across crashes: intent is recorded (fsynced) before Print-Job.
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { HistoryEntry } from '../shared/schema.ts'

export type ItemState = 'intent' | 'sent' | 'completed' | 'aborted' | 'canceled' | 'failed'

export interface JournalItem {
  order: string
  item: number
  jobName: string
  state: ItemState
  jobId: string | null
  reason: string | null
}

export class Journal {
  private readonly db: Database.Database
  private readonly stmt

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS items (
        order_id TEXT NOT NULL, item INTEGER NOT NULL, job_name TEXT NOT NULL,
        state TEXT NOT NULL, job_id TEXT, reason TEXT, updated_at TEXT NOT NULL,
        PRIMARY KEY (order_id, item)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT, updated_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS history (
        id TEXT PRIMARY KEY, entry TEXT NOT NULL, acknowledged INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS reprints (
        order_id TEXT NOT NULL, item INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (order_id, item)
      ) WITHOUT ROWID;`)
    // Whether the relay has stored the order's final progress (journals from before had no such column).
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(orders)').all()
    // Orders that ended before it existed count as reported: the lab waited for the relay then too.
    if (!columns.some((c) => c.name === 'reported')) this.db.exec('ALTER TABLE orders ADD COLUMN reported INTEGER NOT NULL DEFAULT 0; UPDATE orders SET reported = 1')
    this.stmt = {
      item: this.db.prepare<[string, number], Record<string, string | number | null>>('SELECT * FROM items WHERE order_id = ? AND item = ?'),
      upsertItem: this.db.prepare(`INSERT INTO items (order_id, item, job_name, state, job_id, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (order_id, item) DO UPDATE SET state = excluded.state, job_id = excluded.job_id, reason = excluded.reason, updated_at = excluded.updated_at`),
      order: this.db.prepare<[string], { state: string; reason: string | null }>('SELECT state, reason FROM orders WHERE order_id = ?'),
      setOrder: this.db.prepare(`INSERT INTO orders (order_id, state, reason, updated_at, reported) VALUES (?, ?, ?, ?, 0)
        ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at, reported = 0`),
      reported: this.db.prepare('UPDATE orders SET reported = 1 WHERE order_id = ? AND state = ?'),
      unreported: this.db.prepare<[], { order_id: string; state: 'printed' | 'failed'; reason: string | null }>(
        "SELECT order_id, state, reason FROM orders WHERE reported = 0 AND state IN ('printed', 'failed') ORDER BY updated_at LIMIT 1000"),
      forgetUnprinted: this.db.prepare("DELETE FROM items WHERE order_id = ? AND state IN ('aborted', 'canceled', 'failed')"),
      addHistory: this.db.prepare('INSERT OR IGNORE INTO history (id, entry) VALUES (?, ?)'),
      unacknowledged: this.db.prepare<[], { entry: string }>('SELECT entry FROM history WHERE acknowledged = 0 ORDER BY rowid'),
      acknowledge: this.db.prepare('UPDATE history SET acknowledged = 1 WHERE id = ?'),
      setReprint: this.db.prepare('INSERT OR REPLACE INTO reprints (order_id, item, reason) VALUES (?, ?, ?)'),
      reprint: this.db.prepare<[string, number], { reason: string }>('SELECT reason FROM reprints WHERE order_id = ? AND item = ?'),
      clearReprint: this.db.prepare('DELETE FROM reprints WHERE order_id = ? AND item = ?'),
    }
  }

  item(order: string, item: number): JournalItem | null {
    const row = this.stmt.item.get(order, item)
    if (!row) return null
    return { order, item, jobName: String(row.job_name), state: row.state as ItemState, jobId: row.job_id as string | null, reason: row.reason as string | null }
  }

  /** Recorded, durably, before the job is sent: after a crash this says "maybe sent, ask the printer". */
  intend(order: string, item: number, jobName: string): void {
    this.stmt.upsertItem.run(order, item, jobName, 'intent', null, null, new Date().toISOString())
  }

  /** The printer accepted the job; from here on it is followed, never sent again. */
  sent(order: string, item: number, jobName: string, jobId: string): void {
    this.stmt.upsertItem.run(order, item, jobName, 'sent', jobId, null, new Date().toISOString())
  }

  /** How the job ended, and its history entry, in one transaction (which uses up a reprint mark: the reprint's job is that entry). */
  finish(order: string, item: number, jobName: string, jobId: string | null, state: ItemState, reason: string | null, entry: HistoryEntry | null): void {
    this.db.transaction(() => {
      this.stmt.upsertItem.run(order, item, jobName, state, jobId, reason, new Date().toISOString())
      if (entry) this.stmt.addHistory.run(entry.id, JSON.stringify(entry))
      if (entry) this.stmt.clearReprint.run(order, item)
    })()
  }

  /** The operator asked to reprint these items: their next job's history entry says so, with the reason. */
  markReprint(order: string, items: readonly number[], reason: string): void {
    this.db.transaction(() => { for (const item of items) this.stmt.setReprint.run(order, item, reason) })()
  }

  /** The reason of a reprint asked for this item and not printed yet; null when none was. */
  reprintReason(order: string, item: number): string | null {
    return this.stmt.reprint.get(order, item)?.reason ?? null
  }

  /** A history entry that is no print job (an order ready at its store, collected), to report like any other. */
  record(entry: HistoryEntry): void {
    this.stmt.addHistory.run(entry.id, JSON.stringify(entry))
  }

  /**
   * The operator's `retry`: items whose job ended without printing (aborted, canceled, failed)
   * are forgotten, so they are sent again; completed ones, and jobs still in flight, stay.
   */
  forgetUnprinted(order: string): number {
    return this.stmt.forgetUnprinted.run(order).changes
  }

  orderState(order: string): { state: string; reason: string | null } | null {
    return this.stmt.order.get(order) ?? null
  }

  setOrderState(order: string, state: 'printing' | 'printed' | 'failed' | 'retry', reason: string | null = null): void {
    this.stmt.setOrder.run(order, state, reason, new Date().toISOString())
  }

  /** The relay has stored the order's progress as this state (printed or failed). */
  markReported(order: string, state: 'printed' | 'failed'): void {
    this.stmt.reported.run(order, state)
  }

  /** Orders that ended here but whose final progress the relay has not acknowledged (a crash, an outage). */
  unreported(): Array<{ order: string; state: 'printed' | 'failed'; reason: string | null }> {
    return this.stmt.unreported.all().map((row) => ({ order: row.order_id, state: row.state, reason: row.reason }))
  }

  /** History entries the relay has not confirmed yet, oldest first. */
  unacknowledgedHistory(): HistoryEntry[] {
    return this.stmt.unacknowledged.all().map((row) => JSON.parse(row.entry) as HistoryEntry)
  }

  acknowledge(ids: Iterable<string>): void {
    this.db.transaction(() => { for (const id of ids) this.stmt.acknowledge.run(id) })()
  }

  close(): void {
    this.db.close()
  }
}
