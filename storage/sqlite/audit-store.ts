// The admin audit on the relay's SQLite database (storage/audit-store.ts): statements prepared once
// per text and run on the caller's thread; each call reads a bounded page or one indexed sum.
import type { DB } from './database.ts'
import type { AuditFilter, DailyFigures, DayRange } from '../audit-store.ts'
import { equalities, HISTORY, RECEPTIONS, SqlAuditStore, type Condition } from '../audit-sql.ts'

type Statement = ReturnType<DB['prepare']> & { all(...params: unknown[]): unknown[]; run(...params: unknown[]): unknown }

export class SqliteAuditStore extends SqlAuditStore {
  /** Statements by SQL text: the filters present decide the text, so there are few of them. */
  private readonly statements = new Map<string, Statement>()

  constructor(private readonly db: DB) {
    super()
  }

  protected async query<R>(sql: string, params: unknown[]): Promise<R[]> {
    return this.rows<R>(sql, params)
  }

  protected anyOf(column: string, values: string[]): Condition {
    return { sql: `${column} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(values)] }
  }

  async daily(filter: AuditFilter, days: DayRange[], labs: string[]): Promise<DailyFigures> {
    const ranges = JSON.stringify(days.map(({ day, start, end }) => [day, start, end]))
    // What the receipts took off: both discount columns (each clamped to its own charge, the lab's
    // and the store's: pricing.ts), counted only for receipts that had a discount decided.
    // Days outside (CROSS JOIN keeps that order), each a range search on received_at in one of the
    // covering receptions_totals indexes (migration 11), or a customer's receptions_by_user.
    const r = equalities(RECEPTIONS, filter, 'r', ['status'])
    const orders = this.rows<DailyFigures['orders'][number]>(
      `SELECT d.value ->> 0 AS day, count(*) AS orders, count(coalesce(r.discount_order, r.front_discount_order)) AS discounted,
         coalesce(sum(CASE WHEN r.discount_order IS NULL AND r.front_discount_order IS NULL THEN 0
           ELSE r.lab_discount_amount + r.front_discount_amount END), 0) AS discount_amount
       FROM json_each(?) d CROSS JOIN receptions r ON r.received_at >= d.value ->> 1 AND r.received_at < d.value ->> 2
       WHERE r.status = 'accepted'${r.sql} GROUP BY d.key ORDER BY d.key`, [ranges, ...r.params])
    // One indexed sum per lab and day (history_prints covers it) rather than grouping every print
    // of the period in a temporary B-tree: ~20 times faster over 30 days of ten busy labs.
    const h = equalities(HISTORY, filter, 'h', ['status', 'lab', 'reprint', 'number', 'email'])
    const perLabAndDay = (column: string, condition: string) => this.rows<{ day: string; lab: string; [column: string]: number | string }>(
      `SELECT d.value ->> 0 AS day, l.value AS lab, (SELECT coalesce(sum(h.copies), 0) FROM history h WHERE h.lab = l.value
         AND ${condition} AND h.status = 'completed' AND h.printed_at >= d.value ->> 1 AND h.printed_at < d.value ->> 2${h.sql}) AS ${column}
       FROM json_each(?) d, json_each(?) l ORDER BY d.key, l.key`, [...h.params, ranges, JSON.stringify(labs)])
    // Reprints by history_reprints, which holds only them.
    const prints = perLabAndDay('prints', 'true') as DailyFigures['prints']
    const reprints = perLabAndDay('reprints', 'h.reprint = 1') as DailyFigures['reprints']
    return { orders, prints: prints.filter((p) => p.prints > 0), reprints: reprints.filter((p) => p.reprints > 0) }
  }

  private rows<R>(sql: string, params: unknown[]): R[] {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql) as Statement
      this.statements.set(sql, statement)
    }
    // A write (RETURNING or not) runs as well through all(): it returns the RETURNING rows, or none.
    return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as R[]
  }
}
