// The reception store on PostgreSQL (cluster mode): several relays record receptions in the same
// tables. A customer's decision and its record are one transaction under a per-customer advisory
// lock, so two orders of one customer arriving at two relays are decided one after the other and
// the second sees the first; the reception clock is one row (reception_clock) for the whole cluster.
import type pg from 'pg'
import type { PastReception } from '../../shared/discount.ts'
import { STARTED_PROGRESS, type PriceLine } from '../../shared/schema.ts'
import * as orderNumber from '../../shared/order-number.ts'
import type { Reception, Repricing, NewReception, StoreStampNote } from './receptions.ts'
import type { DeliveredAs, Judge, ReceiveOutcome, ReceptionStore } from './reception-store.ts'
import type { PreviousLookup } from '../orders/decide.ts'
import { runWithReads, type PreviousRead } from './previous-reads.ts'
import { inTransaction } from '../../storage/postgres/transaction.ts'

/**
 * The advisory lock class of a customer's receptions: (class, hashtext(user)). Apart from
 * storage/postgres/migrate.ts LOCK_CLASS's schema and doc classes. A hash collision between two
 * customers only makes them wait for each other, never decide wrongly.
 */
export const RECEPTION_LOCK_CLASS = 0x7ec7

export interface PgReceptionOptions {
  /**
   * Test only: decide without the per-customer lock, to show the race it prevents (two relays
   * giving two orders the same previous order). Never false outside that test.
   */
  customerLock?: boolean
}

type Client = pg.PoolClient

interface Row {
  seq: number; order_id: string; number: string | null; user_id: string; front: string; lab: string; received_at: number
  status: Reception['status']; error: string | null; lines: PriceLine[]; total: number; currency: string
  discount_order: string | null; discount_received_at: number | null; discount_within: string | null
  discount_amount: number | null; store_stamp: StoreStampNote | null; delivered: boolean; progress: string | null
  front_discount: Reception['frontDiscount']; pickup_front: string | null
}

const fromRow = (row: Row): Reception => ({
  seq: row.seq, order: row.order_id, number: row.number, user: row.user_id, front: row.front, pickupFront: row.pickup_front, lab: row.lab,
  receivedAt: new Date(row.received_at), status: row.status, error: row.error, lines: row.lines, total: row.total, currency: row.currency,
  discount: row.discount_order === null ? null : {
    previousOrder: row.discount_order, previousReceivedAt: new Date(row.discount_received_at!).toISOString(),
    within: row.discount_within!, amount: row.discount_amount!,
  },
  frontDiscount: row.front_discount, storeStamp: row.store_stamp, delivered: row.delivered, progress: row.progress,
})

const pastOf = (row: Row): PastReception =>
  ({ order: row.order_id, user: row.user_id, front: row.front, lab: row.lab, receivedAt: new Date(row.received_at), seq: row.seq })

/** What a discount of `by` took off the lines (positive; 0 for none): the audit's totals sum it. */
const applied = (lines: readonly PriceLine[], by: 'lab' | 'front') =>
  -lines.filter((l) => l.kind === 'discount' && (l.by ?? 'lab') === by).reduce((sum, l) => sum + l.amount, 0)

/** The database's clock in epoch ms: claims are timed by it, one clock for every relay. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

export class PgReceptionStore implements ReceptionStore {
  private constructor(private readonly pool: pg.Pool, private readonly customerLock: boolean, private readonly labDiscountColumn: boolean) {}

  /** On a pool from openRelayPool (the schema migrated). */
  static async open(pool: pg.Pool, options: PgReceptionOptions = {}): Promise<PgReceptionStore> {
    // The lab's applied discount as a column comes with the admin audit's schema step; written when there.
    const found = await pool.query(`SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'receptions' AND column_name = 'lab_discount_amount'`)
    return new PgReceptionStore(pool, options.customerLock ?? true, found.rowCount === 1)
  }

  async get(order: string): Promise<Reception | null> {
    return this.getWith(this.pool, order)
  }

  async awaitingSince(order: string, user: string, at: Date): Promise<Date> {
    return this.tx(async (c) => this.firstSight(c, order, user, await this.clock(c, at)))
  }

  async receive(order: string, user: string, at: Date, judge: Judge): Promise<ReceiveOutcome> {
    try {
      return await this.tx(async (c) => {
        if (this.customerLock) await this.lockCustomer(c, user)
        const existing = await this.getWith(c, order)
        if (existing) return { kind: 'recorded', reception: existing, fresh: false }
        // Taken explicitly so the decision knows it; receptions at one millisecond are ordered by it.
        const seq = (await c.query<{ seq: number }>(`SELECT nextval(pg_get_serial_sequence('receptions', 'seq')) AS seq`)).rows[0].seq
        const seen = (await c.query<{ first_seen: number }>('SELECT first_seen FROM waiting_orders WHERE order_id = $1', [order])).rows[0]?.first_seen
        const decideAt = async (now: Date) => {
          const firstSeen = seen === undefined ? now : new Date(seen)
          const verdict = await runWithReads((previous) => judge({ now, firstSeen, seq, previous }), (read) => this.readPrevious(c, read))
          return { now, firstSeen, verdict }
        }
        // Decided at the clock as last read, then the clock moved to it (its row locked from here to
        // COMMIT: two statements, not the whole decision). Had another relay moved it past meanwhile,
        // decided again at that instant: the reception clock never goes back, cluster-wide.
        let decided = await decideAt(new Date(Math.max(at.getTime(), await this.highWater(c))))
        const now = await this.clock(c, decided.now)
        if (now.getTime() !== decided.now.getTime()) decided = await decideAt(now)
        const { firstSeen, verdict } = decided
        if (seen === undefined) await this.firstSight(c, order, user, firstSeen)
        if (verdict.kind === 'waiting') {
          await c.query('UPDATE waiting_orders SET missing = $2, front = $3 WHERE order_id = $1', [order, JSON.stringify(verdict.missing), verdict.front])
          return { kind: 'waiting', missing: verdict.missing, now, firstSeen }
        }
        await this.insert(c, seq, verdict.reception, verdict.images)
        return { kind: 'recorded', reception: (await this.getWith(c, order))!, fresh: true }
      })
    } catch (error) {
      // Only without the customer's lock (or with an owner changed under it) can another relay
      // insert the same order first: the order is received once, theirs is the reception.
      if ((error as { code?: string }).code !== '23505') throw error
      const existing = await this.get(order)
      if (!existing) throw error
      return { kind: 'recorded', reception: existing, fresh: false }
    }
  }

  async markDelivered(d: DeliveredAs): Promise<void> {
    await this.pool.query(`UPDATE receptions SET delivered = true, claimed_until = NULL WHERE order_id = $1 AND status = $2 AND lab = $3
      AND total = $4 AND discount_order IS NOT DISTINCT FROM $5::text AND front_discount_order IS NOT DISTINCT FROM $6::text`,
    [d.order, d.status, d.lab, d.total, d.discount?.previousOrder ?? null, d.frontDiscount?.previousOrder ?? null])
  }

  async undelivered(limit: number, claimMs?: number): Promise<Reception[]> {
    const rows = claimMs === undefined
      ? (await this.pool.query<Row>('SELECT * FROM receptions WHERE NOT delivered ORDER BY seq LIMIT $1', [limit])).rows
      // SKIP LOCKED: relays sweeping at once each take rows no other is claiming, without waiting.
      : (await this.pool.query<Row>(`UPDATE receptions SET claimed_until = ${DB_NOW} + $2 WHERE seq IN (
          SELECT seq FROM receptions WHERE NOT delivered AND (claimed_until IS NULL OR claimed_until <= ${DB_NOW})
          ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING *`, [limit, claimMs])).rows
    return rows.sort((a, b) => a.seq - b.seq).map(fromRow)
  }

  async cancel(order: string, reprice: (citing: Reception, previous: PreviousLookup) => Repricing): Promise<Reception[]> {
    return this.tx(async (c) => {
      const found = await c.query<{ user_id: string }>('SELECT user_id FROM receptions WHERE order_id = $1', [order])
      if (found.rowCount === 0) return []
      // The customer's lock: no reception of theirs is being decided against this order meanwhile.
      if (this.customerLock) await this.lockCustomer(c, found.rows[0].user_id)
      const cancelled = await c.query("UPDATE receptions SET status = 'cancelled', delivered = false WHERE order_id = $1 AND status = 'accepted'", [order])
      if (cancelled.rowCount === 0) return []
      const citing = await c.query<Row>(`SELECT * FROM receptions WHERE status = 'accepted' AND (discount_order = $1 OR front_discount_order = $1)
        ORDER BY seq`, [order])
      const repriced: Reception[] = []
      for (const row of citing.rows) {
        const before = fromRow(row)
        const { lines, total, discount: d, frontDiscount } = await runWithReads((previous) => reprice(before, previous), (read) => this.readPrevious(c, read))
        const updated = await c.query<Row>(`UPDATE receptions SET lines = $2, total = $3, discount_order = $4, discount_received_at = $5,
          discount_within = $6, discount_amount = $7, front_discount = $8, front_discount_order = $9, front_discount_amount = $10,
          delivered = false${this.labDiscountColumn ? ', lab_discount_amount = $11' : ''} WHERE order_id = $1 RETURNING *`, [
          row.order_id, JSON.stringify(lines), total, d?.previousOrder ?? null, d ? Date.parse(d.previousReceivedAt) : null, d?.within ?? null,
          d?.amount ?? null, frontDiscount ? JSON.stringify(frontDiscount) : null, frontDiscount?.previousOrder ?? null, applied(lines, 'front'),
          ...(this.labDiscountColumn ? [applied(lines, 'lab')] : []),
        ])
        repriced.push(fromRow(updated.rows[0]))
      }
      return repriced
    })
  }

  async startedCiting(order: string): Promise<string | null> {
    const found = await this.pool.query<{ order_id: string }>(`SELECT order_id FROM receptions WHERE status = 'accepted'
      AND (discount_order = $1 OR front_discount_order = $1) AND progress = ANY($2) LIMIT 1`, [order, STARTED_PROGRESS])
    return found.rows[0]?.order_id ?? null
  }

  async setProgress(order: string, status: string | null): Promise<void> {
    await this.pool.query('UPDATE receptions SET progress = $2 WHERE order_id = $1 AND progress IS DISTINCT FROM $2::text', [order, status])
  }

  async reassign(order: string, lab: string): Promise<void> {
    await this.tx(async (c) => {
      // The new lab starts afresh: the old lab's progress (failed, held) is not the new lab's.
      await c.query('UPDATE receptions SET lab = $2, delivered = false, progress = NULL WHERE order_id = $1', [order, lab])
      await c.query('UPDATE order_images SET lab = $2 WHERE order_id = $1', [order, lab])
    })
  }

  async labUsesImage(lab: string, sha256: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM order_images WHERE sha256 = $1 AND lab = $2 LIMIT 1', [sha256, lab])).rowCount === 1
  }

  async stopWaiting(order: string): Promise<void> {
    await this.pool.query('DELETE FROM waiting_orders WHERE order_id = $1', [order])
  }

  async waitingOrders(options: { user?: string; limit?: number; claimMs?: number } = {}): Promise<string[]> {
    const { user, limit = null, claimMs } = options
    if (claimMs === undefined) {
      const rows = (await this.pool.query<{ order_id: string }>(`SELECT order_id FROM waiting_orders WHERE ($1::text IS NULL OR user_id = $1)
        ORDER BY first_seen, order_id LIMIT $2`, [user ?? null, limit])).rows
      return rows.map((r) => r.order_id)
    }
    const rows = (await this.pool.query<{ order_id: string; first_seen: number }>(`UPDATE waiting_orders SET claimed_until = ${DB_NOW} + $3
      WHERE order_id IN (SELECT order_id FROM waiting_orders WHERE ($1::text IS NULL OR user_id = $1)
        AND (claimed_until IS NULL OR claimed_until <= ${DB_NOW}) ORDER BY first_seen, order_id LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING order_id, first_seen`, [user ?? null, limit, claimMs])).rows
    return rows.sort((a, b) => a.first_seen - b.first_seen || (a.order_id < b.order_id ? -1 : 1)).map((r) => r.order_id)
  }

  private tx<T>(work: (client: Client) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work)
  }

  private async lockCustomer(c: Client, user: string): Promise<void> {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [RECEPTION_LOCK_CLASS, user])
  }

  private async getWith(c: Client | pg.Pool, order: string): Promise<Reception | null> {
    const found = await c.query<Row>('SELECT * FROM receptions WHERE order_id = $1', [order])
    return found.rows[0] ? fromRow(found.rows[0]) : null
  }

  /** The latest instant the cluster's reception clock gave, without locking it. */
  private async highWater(c: Client): Promise<number> {
    return (await c.query<{ high_water: number }>('SELECT high_water FROM reception_clock')).rows[0]?.high_water ?? Number.NEGATIVE_INFINITY
  }

  /**
   * The cluster's reception clock: `at`, but never before an instant any relay already gave (see
   * Receptions.clock). Its row is locked until the transaction ends: receptions of the whole
   * cluster pass it one at a time, for the few statements between this and their COMMIT.
   */
  private async clock(c: Client, at: Date): Promise<Date> {
    const found = await c.query<{ high_water: number }>(`INSERT INTO reception_clock (id, high_water) VALUES (true, $1)
      ON CONFLICT (id) DO UPDATE SET high_water = greatest(reception_clock.high_water, EXCLUDED.high_water) RETURNING high_water`, [at.getTime()])
    return new Date(found.rows[0].high_water)
  }

  private async firstSight(c: Client, order: string, user: string, now: Date): Promise<Date> {
    await c.query('INSERT INTO waiting_orders (order_id, user_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING', [order, user, now.getTime()])
    return new Date((await c.query<{ first_seen: number }>('SELECT first_seen FROM waiting_orders WHERE order_id = $1', [order])).rows[0].first_seen)
  }

  /** One read of the discount checker, by the same indexes as the SQLite store's (receptions_by_user*). */
  private async readPrevious(c: Client, read: PreviousRead): Promise<PastReception | null | PastReception[]> {
    const { current, scope } = read
    const params: unknown[] = [current.user, current.receivedAt.getTime(), current.seq]
    // Strictly before the current reception in the total order (received_at, seq), as Receptions reads.
    let where = "status = 'accepted' AND user_id = $1 AND (received_at, seq) < ($2, $3)"
    if (scope !== 'user') { params.push(scope === 'front' ? current.front : current.lab); where += ` AND ${scope} = $${params.length}` }
    if (read.kind === 'since') { params.push(read.fromMs); where += ` AND received_at >= $${params.length}` }
    const rows = (await c.query<Row>(`SELECT * FROM receptions WHERE ${where} ORDER BY received_at DESC, seq DESC${read.kind === 'latest' ? ' LIMIT 1' : ''}`, params)).rows
    return read.kind === 'latest' ? (rows[0] ? pastOf(rows[0]) : null) : rows.map(pastOf)
  }

  private async insert(c: Client, seq: number, r: NewReception, images: string[]): Promise<void> {
    const accepted = r.status === 'accepted'
    // The store's counter only ever goes up, counted in the reception's own transaction (Receptions.record).
    const counter = accepted
      ? (await c.query<{ last: number }>(`INSERT INTO order_numbers (front, last) VALUES ($1, 1)
          ON CONFLICT (front) DO UPDATE SET last = order_numbers.last + 1 RETURNING last`, [r.front])).rows[0].last
      : null
    const d = r.discount, fd = r.frontDiscount ?? null
    const values: unknown[] = [
      seq, r.order, counter === null ? null : orderNumber.encode(counter), r.user, r.front, r.lab, r.receivedAt.getTime(), r.status, r.error,
      JSON.stringify(r.lines), r.total, r.currency, d?.previousOrder ?? null, d ? Date.parse(d.previousReceivedAt) : null, d?.within ?? null,
      d?.amount ?? null, r.storeStamp ? JSON.stringify(r.storeStamp) : null, fd ? JSON.stringify(fd) : null, fd?.previousOrder ?? null,
      r.pickupFront ?? null, applied(r.lines, 'front'),
    ]
    if (this.labDiscountColumn) values.push(applied(r.lines, 'lab'))
    await c.query(`INSERT INTO receptions (seq, order_id, number, user_id, front, lab, received_at, status, error, lines, total, currency,
      discount_order, discount_received_at, discount_within, discount_amount, store_stamp, front_discount, front_discount_order, pickup_front,
      front_discount_amount${this.labDiscountColumn ? ', lab_discount_amount' : ''})
      VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values)
    if (accepted && images.length > 0) {
      await c.query('INSERT INTO order_images (order_id, sha256, lab) SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING', [r.order, images, r.lab])
    }
    await c.query('DELETE FROM waiting_orders WHERE order_id = $1', [r.order])
  }
}
