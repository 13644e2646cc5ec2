// Seeds the audit's tables with plain SQL for the AuditStore suite (tests/conformance/audit-store.ts),
// on either database: `?` placeholders (the PostgreSQL runner numbers them), JSON as text (jsonb
// columns take it as input) and flags as 0/1 (PostgreSQL's boolean accepts '0' and '1').
import type { AuditSeeder } from './audit-store.ts'

/** Runs one statement with `?` placeholders. */
export type RunSql = (sql: string, params: unknown[]) => Promise<void>

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value))

/** Every history row was printed by this printer as job 7 (the suite expects them). */
export const SEED_PRINTER = 'ipp://127.0.0.1:8631/ipp/print'

export function sqlSeeder(run: RunSql): AuditSeeder {
  return {
    account: (user, email, name) =>
      run("INSERT INTO accounts (user_id, email, name, password_hash, created_at) VALUES (?, ?, ?, 'x', '2024-05-01T00:00:00Z')", [user, email, name]),
    reception: (r) => run(
      `INSERT INTO receptions (order_id, number, user_id, front, lab, received_at, status, error, lines, total, currency,
         discount_order, discount_received_at, discount_within, discount_amount, store_stamp, front_discount, front_discount_order, pickup_front)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'JPY', ?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.order, r.number ?? null, r.user, r.front, r.lab, r.receivedAt, r.status, r.error ?? null, json(r.lines), r.total,
        r.discount?.previousOrder ?? null, r.discount ? Date.parse(r.discount.previousReceivedAt) : null, r.discount?.within ?? null, r.discount?.amount ?? null,
        json(r.storeStamp), json(r.frontDiscount), r.frontDiscount?.previousOrder ?? null, r.pickupFront ?? null]),
    reprice: (order, lines, total) => run('UPDATE receptions SET lines = ?, total = ? WHERE order_id = ?', [json(lines), total, order]),
    discountColumns: (order, lab, front) =>
      run('UPDATE receptions SET lab_discount_amount = ?, front_discount_amount = ? WHERE order_id = ?', [lab, front, order]),
    history: (h) => run(
      `INSERT INTO history (id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front, reprint, reason)
       VALUES (?, ?, ?, ?, ?, '7', ?, ?, ?, ?, ?, ?, ?, ?)`,
      [h.id, h.lab, h.order, h.item, SEED_PRINTER, h.copies, h.status, h.printedAt, h.receivedAt, h.user, h.front, h.reprint ? 1 : 0, h.reason ?? null]),
    waiting: (w) => run('INSERT INTO waiting_orders (order_id, user_id, front, first_seen, missing) VALUES (?, ?, ?, ?, ?)',
      [w.order, w.user, w.front, w.firstSeen, json(w.missing)]),
  }
}
