// The admin audit on the cluster's PostgreSQL (storage/audit-store.ts), on the relay's pool
// (relay-schema.ts openRelayPool: bigint read as numbers, jsonb parsed); the same queries as SQLite.
import type pg from 'pg'
import type { AuditFilter, DailyFigures, DayRange } from '../audit-store.ts'
import { equalities, HISTORY, RECEPTIONS, SqlAuditStore, type Condition } from '../audit-sql.ts'
import { migrate, type PgMigrations } from './migrate.ts'

/** What the receipts' sums read; part of the step below's text, never changed once released. */
const TOTALS = 'total, lab_discount_amount, front_discount_amount, discount_order, front_discount_order'

/**
 * The audit's own steps over the relay schema (RELAY_PG_MIGRATIONS, which must have run): what each
 * receipt's discounts took off, as columns kept by a trigger on every write of `lines` (as SQLite's
 * step 11), so totals sum columns instead of opening every receipt's lines.
 */
export const AUDIT_PG_MIGRATIONS: PgMigrations = {
  component: 'relay-audit',
  steps: [
    `ALTER TABLE receptions ADD COLUMN IF NOT EXISTS lab_discount_amount bigint NOT NULL DEFAULT 0;
     ALTER TABLE receptions ALTER COLUMN front_discount_amount SET DEFAULT 0;
     -- What the receipt's discount lines took off (positive), the lab's (a line without "by" is the
     -- lab's) and the store's, whatever the writer put in these columns.
     CREATE FUNCTION receptions_discount_amounts() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       SELECT coalesce(-sum((l ->> 'amount')::bigint) FILTER (WHERE coalesce(l ->> 'by', 'lab') = 'lab'), 0),
              coalesce(-sum((l ->> 'amount')::bigint) FILTER (WHERE l ->> 'by' = 'front'), 0)
         INTO NEW.lab_discount_amount, NEW.front_discount_amount
         FROM jsonb_array_elements(NEW.lines) l WHERE l ->> 'kind' = 'discount';
       RETURN NEW;
     END $$;
     CREATE TRIGGER receptions_discount_amounts BEFORE INSERT OR UPDATE OF lines ON receptions
       FOR EACH ROW EXECUTE FUNCTION receptions_discount_amounts();
     UPDATE receptions SET lines = lines;
     ALTER TABLE receptions ALTER COLUMN front_discount_amount SET NOT NULL;
     -- Totals and the daily orders read accepted receptions by index only (as SQLite's step 11).
     CREATE INDEX receptions_totals ON receptions (received_at) INCLUDE (${TOTALS}) WHERE status = 'accepted';
     CREATE INDEX receptions_totals_by_lab ON receptions (lab, received_at) INCLUDE (${TOTALS}) WHERE status = 'accepted';
     CREATE INDEX receptions_totals_by_front ON receptions (front, received_at) INCLUDE (${TOTALS}) WHERE status = 'accepted';`,
  ],
}

/** `?` placeholders as pg numbers them; no statement here has a `?` of its own (no jsonb `?` operator). */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** The day ranges as three parallel arrays, for unnest(...) WITH ORDINALITY. */
const DAYS = 'unnest(?::text[], ?::bigint[], ?::bigint[]) WITH ORDINALITY AS d(day, start_at, end_at, k)'
const dayParams = (days: DayRange[]) => [days.map((d) => d.day), days.map((d) => d.start), days.map((d) => d.end)]

export class PgAuditStore extends SqlAuditStore {
  private constructor(private readonly pool: pg.Pool) {
    super()
  }

  /** The store on a pool from openRelayPool (which it does not own), its own steps run first. */
  static async open(pool: pg.Pool): Promise<PgAuditStore> {
    await migrate(pool, AUDIT_PG_MIGRATIONS)
    return new PgAuditStore(pool)
  }

  protected async query<R>(sql: string, params: unknown[]): Promise<R[]> {
    return (await this.pool.query(numbered(sql), params)).rows as R[]
  }

  protected anyOf(column: string, values: string[]): Condition {
    return { sql: `${column} = ANY(?::text[])`, params: [values] }
  }

  async daily(filter: AuditFilter, days: DayRange[], labs: string[]): Promise<DailyFigures> {
    // Receipts' discounts as on SQLite (storage/sqlite/audit-store.ts): both columns, for receipts with a decision.
    const r = equalities(RECEPTIONS, filter, 'r', ['status'])
    const orders = this.query<DailyFigures['orders'][number]>(
      `SELECT d.day, count(*) AS orders, count(coalesce(r.discount_order, r.front_discount_order)) AS discounted,
         coalesce(CAST(sum(CASE WHEN r.discount_order IS NULL AND r.front_discount_order IS NULL THEN 0
           ELSE r.lab_discount_amount + r.front_discount_amount END) AS bigint), 0) AS discount_amount
       FROM ${DAYS} JOIN receptions r ON r.received_at >= d.start_at AND r.received_at < d.end_at
       WHERE r.status = 'accepted'${r.sql} GROUP BY d.k, d.day ORDER BY d.k`, [...dayParams(days), ...r.params])
    // One indexed sum per lab and day (history_prints; reprints by history_reprints).
    const h = equalities(HISTORY, filter, 'h', ['status', 'lab', 'reprint', 'number', 'email'])
    const perLabAndDay = <R>(column: string, condition: string) => this.query<R>(
      `SELECT d.day, l.lab, (SELECT coalesce(sum(h.copies), 0) FROM history h WHERE h.lab = l.lab
         AND ${condition} AND h.status = 'completed' AND h.printed_at >= d.start_at AND h.printed_at < d.end_at${h.sql}) AS ${column}
       FROM ${DAYS} CROSS JOIN unnest(?::text[]) WITH ORDINALITY AS l(lab, k) ORDER BY d.k, l.k`, [...h.params, ...dayParams(days), labs])
    const [ordered, prints, reprints] = await Promise.all([
      orders,
      perLabAndDay<DailyFigures['prints'][number]>('prints', 'true'),
      perLabAndDay<DailyFigures['reprints'][number]>('reprints', 'h.reprint'),
    ])
    return { orders: ordered, prints: prints.filter((p) => p.prints > 0), reprints: reprints.filter((p) => p.reprints > 0) }
  }
}
