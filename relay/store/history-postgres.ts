// Printing history in PostgreSQL (cluster mode): one table for every relay. A lab's report may be
// ingested by two relays at once (the lab's room loaded on both); the entry id's primary key with
// ON CONFLICT DO NOTHING stores each entry once, and only one of them counts it as new.
import type pg from 'pg'
import { pgText } from './pg-text.ts'
import { historyRow, type HistoryStore, type ReportedEntry } from './history.ts'
import { inTransaction } from '../../storage/postgres/transaction.ts'

/** Rows per statement: a lab's report is bounded by its document, but a statement's parameters need not grow with it. */
const BATCH = 5_000

export class PgHistory implements HistoryStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * One transaction, one INSERT … SELECT per batch of columns as arrays (no JSON: text a lab sent
   * is stored as text, whatever it holds). user and front come from the order's reception, as in SQLite.
   */
  async record(lab: string, entries: ReportedEntry[], receivedAt: Date): Promise<number> {
    if (entries.length === 0) return 0
    // In id order, statements and batches alike: two relays storing overlapping reports at once
    // wait on each other's rows in the same order, never each on the other's (a deadlock).
    const rows = entries.map((e) => historyRow(lab, e, receivedAt)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return await inTransaction(this.pool, async (client) => {
      let added = 0
      for (let start = 0; start < rows.length; start += BATCH) {
        const batch = rows.slice(start, start + BATCH)
        const column = <K extends keyof (typeof rows)[number]>(key: K) => batch.map((row) => (typeof row[key] === 'string' ? pgText(row[key] as string) : row[key]))
        const result = await client.query(
          `INSERT INTO history (id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front, reprint, reason)
           SELECT e.id, $2, e.order_id, e.item, e.printer, e.job, e.copies, e.status, e.printed_at, $3, r.user_id, r.front, e.reprint, e.reason
           FROM unnest($1::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::integer[], $9::text[], $10::bigint[], $11::boolean[], $12::text[])
             AS e (id, order_id, item, printer, job, copies, status, printed_at, reprint, reason)
           LEFT JOIN receptions r ON r.order_id = e.order_id
           ORDER BY e.id COLLATE "C"
           ON CONFLICT (id) DO NOTHING`,
          [column('id'), pgText(lab), receivedAt.getTime(), column('order'), column('item'), column('printer'), column('job'),
            column('copies'), column('status'), column('printedAt'), column('reprint'), column('reason')])
        added += result.rowCount ?? 0
      }
      return added
    })
  }
}
