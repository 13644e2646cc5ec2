// Receptions: the relay's record of each received order (who, when by the relay's clock, which
// store and lab), its priced lines and the discount decision, written exactly once per order.
import type { DB } from '../../storage/sqlite/database.ts'
import type { CurrentReception, PastReception, PreviousReader } from '../../shared/discount.ts'
import { STARTED_PROGRESS, type DiscountDecision, type DiscountScope, type PriceLine } from '../../shared/schema.ts'
import * as orderNumber from '../../shared/order-number.ts'

export interface Reception {
  seq: number
  order: string
  /**
   * The short order number (shared/order-number.ts), unique per store, given when the order is
   * accepted and never again; null for a rejected order and for orders accepted before numbers.
   */
  number: string | null
  user: string
  front: string
  /** The store that hands the order over (spec.pickupFront, else `front`); null for a rejected order and older receptions. */
  pickupFront: string | null
  lab: string
  receivedAt: Date
  status: 'accepted' | 'rejected' | 'cancelled'
  error: string | null
  lines: PriceLine[]
  total: number
  currency: string
  discount: DiscountDecision | null
  /** The store's own discount on its fee (fronts[].discounts); null when none. */
  frontDiscount: DiscountDecision | null
  /**
   * When the order came through a lab node in the store: the lab node's signed stamp and whether
   * the relay dated the reception by it (see orders/stamps.ts). Null for orders received directly.
   */
  storeStamp: StoreStampNote | null
  delivered: boolean
  /** progress.status as its lab last reported it (LabReports); null before the lab wrote any. */
  progress: string | null
}

export interface StoreStampNote {
  lab: string
  receivedAt: string
  /** Whether the reception is dated by the stamp; when not, why. */
  used: boolean
  reason?: string
}

/** A reception to record; a store's discount and pickup store may be left out (none, and the reception store). */
export type NewReception = Omit<Reception, 'seq' | 'number' | 'delivered' | 'progress' | 'pickupFront' | 'frontDiscount'>
  & Partial<Pick<Reception, 'pickupFront' | 'frontDiscount'>>

interface Row {
  seq: number; order_id: string; number: string | null; user_id: string; front: string; lab: string; received_at: number
  status: Reception['status']; error: string | null; lines: string; total: number; currency: string
  discount_order: string | null; discount_received_at: number | null; discount_within: string | null
  discount_amount: number | null; store_stamp: string | null; delivered: number; progress: string | null
  front_discount: string | null; pickup_front: string | null
}

const fromRow = (row: Row): Reception => ({
  seq: row.seq, order: row.order_id, number: row.number, user: row.user_id, front: row.front, pickupFront: row.pickup_front, lab: row.lab,
  receivedAt: new Date(row.received_at), status: row.status, error: row.error,
  lines: JSON.parse(row.lines) as PriceLine[], total: row.total, currency: row.currency,
  discount: row.discount_order === null ? null : {
    previousOrder: row.discount_order, previousReceivedAt: new Date(row.discount_received_at!).toISOString(),
    within: row.discount_within!, amount: row.discount_amount!,
  },
  frontDiscount: row.front_discount === null ? null : JSON.parse(row.front_discount) as DiscountDecision,
  storeStamp: row.store_stamp === null ? null : JSON.parse(row.store_stamp) as StoreStampNote,
  delivered: row.delivered === 1,
  progress: row.progress,
})

/** The repriced part of a reception whose previous order was cancelled. */
export interface Repricing { lines: PriceLine[]; total: number; discount: DiscountDecision | null; frontDiscount: DiscountDecision | null }

/** A submitted order the relay is still waiting for photos of (admin listing). */
export interface WaitingOrder { order: string; user: string; front: string | null; firstSeen: Date; missing: string[] }

const pastOf = (row: Pick<Row, 'order_id' | 'user_id' | 'front' | 'lab' | 'received_at' | 'seq'>): PastReception =>
  ({ order: row.order_id, user: row.user_id, front: row.front, lab: row.lab, receivedAt: new Date(row.received_at), seq: row.seq })

export class Receptions {
  private readonly stmt
  /**
   * The latest instant the relay's clock has given a reception or a first sight (see clock()).
   * Starts from what is stored, so a relay restarted with its clock set back keeps to it too.
   */
  private highWater: number
  /** Reception rows the discount checker has read, for tests that bound its work (never reset). */
  discountRowsRead = 0

  constructor(private readonly db: DB) {
    // Strictly before the current reception in the total order (received_at, seq): a reception
    // being priced again is in the table itself and must not count as its own previous order.
    const latest = (where: string) => db.prepare<unknown[], Row>(
      `SELECT * FROM receptions WHERE status = 'accepted' AND ${where} AND (received_at, seq) < (?, ?) ORDER BY received_at DESC, seq DESC LIMIT 1`)
    // The receptions in scope from an instant up to (not including) the current one, most recent first:
    // the band decideFrom looks at when the most recent one misses a tier (a few days of one customer).
    const since = (where: string) => db.prepare<unknown[], Row>(
      `SELECT * FROM receptions WHERE status = 'accepted' AND ${where} AND received_at >= ? AND (received_at, seq) < (?, ?) ORDER BY received_at DESC, seq DESC`)
    const started = STARTED_PROGRESS.map((status) => `'${status}'`).join(', ')
    this.stmt = {
      byOrder: db.prepare<[string], Row>('SELECT * FROM receptions WHERE order_id = ?'),
      insert: db.prepare(`INSERT INTO receptions (order_id, number, user_id, front, lab, received_at, status, error, lines, total, currency,
        discount_order, discount_received_at, discount_within, discount_amount, store_stamp, front_discount, front_discount_order, pickup_front) VALUES
        (@order, @number, @user, @front, @lab, @receivedAt, @status, @error, @lines, @total, @currency, @dOrder, @dAt, @dWithin, @dAmount, @stamp,
         @frontDiscount, @frontDiscountOrder, @pickupFront)`),
      // The store's counter only ever goes up: a cancelled order keeps its number, and no number
      // is given twice, across restarts too (it is counted in the reception's own transaction).
      countOrder: db.prepare<[string], { last: number }>(
        'INSERT INTO order_numbers (front, last) VALUES (?, 1) ON CONFLICT (front) DO UPDATE SET last = last + 1 RETURNING last'),
      latestByUser: latest('user_id = ?'),
      latestByFront: latest('user_id = ? AND front = ?'),
      latestByLab: latest('user_id = ? AND lab = ?'),
      sinceByUser: since('user_id = ?'),
      sinceByFront: since('user_id = ? AND front = ?'),
      sinceByLab: since('user_id = ? AND lab = ?'),
      nextSeq: db.prepare<[], { next: number }>('SELECT coalesce(max(seq), 0) + 1 AS next FROM receptions'),
      markDelivered: db.prepare('UPDATE receptions SET delivered = 1 WHERE order_id = ?'),
      markDeliveredAs: db.prepare(`UPDATE receptions SET delivered = 1 WHERE order_id = @order AND status = @status AND lab = @lab
        AND total = @total AND discount_order IS @dOrder AND front_discount_order IS @frontDiscountOrder`),
      undelivered: db.prepare<[], Row>('SELECT * FROM receptions WHERE delivered = 0 ORDER BY seq'),
      cancel: db.prepare("UPDATE receptions SET status = 'cancelled', delivered = 0 WHERE order_id = ? AND status = 'accepted'"),
      addImage: db.prepare('INSERT OR IGNORE INTO order_images (order_id, sha256, lab) VALUES (?, ?, ?)'),
      labUsesImage: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM order_images WHERE sha256 = ? AND lab = ? LIMIT 1'),
      wait: db.prepare('INSERT OR IGNORE INTO waiting_orders (order_id, user_id, first_seen) VALUES (?, ?, ?)'),
      setMissing: db.prepare('UPDATE waiting_orders SET missing = ?, front = ? WHERE order_id = ?'),
      waitingList: db.prepare<[], { order_id: string; user_id: string; front: string | null; first_seen: number; missing: string }>(
        'SELECT order_id, user_id, front, first_seen, missing FROM waiting_orders ORDER BY first_seen, order_id'),
      waiting: db.prepare<[string], { first_seen: number }>('SELECT first_seen FROM waiting_orders WHERE order_id = ?'),
      waitingFor: db.prepare<[string], { order_id: string }>('SELECT order_id FROM waiting_orders WHERE user_id = ?'),
      allWaiting: db.prepare<[], { order_id: string }>('SELECT order_id FROM waiting_orders'),
      stopWaiting: db.prepare('DELETE FROM waiting_orders WHERE order_id = ?'),
      // Either discount may cite the order: each column has its own index, so a UNION reads both by index.
      citing: db.prepare<[string, string], Row>(`SELECT * FROM (SELECT * FROM receptions WHERE discount_order = ? UNION
        SELECT * FROM receptions WHERE front_discount_order = ?) WHERE status = 'accepted' ORDER BY seq`),
      startedCiting: db.prepare<[string, string], { order_id: string }>(
        `SELECT order_id FROM (SELECT order_id, status, progress FROM receptions WHERE discount_order = ? UNION ALL
        SELECT order_id, status, progress FROM receptions WHERE front_discount_order = ?) WHERE status = 'accepted' AND progress IN (${started}) LIMIT 1`),
      reprice: db.prepare(`UPDATE receptions SET lines = @lines, total = @total, discount_order = @dOrder, discount_received_at = @dAt,
        discount_within = @dWithin, discount_amount = @dAmount, front_discount = @frontDiscount, front_discount_order = @frontDiscountOrder,
        delivered = 0 WHERE order_id = @order AND status = 'accepted'`),
      setProgress: db.prepare('UPDATE receptions SET progress = ? WHERE order_id = ? AND progress IS NOT ?'),
      highWater: db.prepare<[], { at: number | null }>(
        'SELECT max(at) AS at FROM (SELECT max(received_at) AS at FROM receptions UNION ALL SELECT max(first_seen) FROM waiting_orders)'),
    }
    this.highWater = this.stmt.highWater.get()?.at ?? Number.NEGATIVE_INFINITY
  }

  /**
   * The relay's clock for receptions: `now`, but never before an instant it already gave. A clock
   * stepped back (NTP, a VM restored, an operator) would otherwise date a reception before the
   * previous one: the receptions' order by time would no longer be their order of arrival (by
   * seq), and the new order would not find its previous one and lose its discount.
   */
  clock(now: Date): Date {
    this.highWater = Math.max(this.highWater, now.getTime())
    return new Date(this.highWater)
  }

  get(order: string): Reception | null {
    const row = this.stmt.byOrder.get(order)
    return row ? fromRow(row) : null
  }

  /** The sequence number the next reception will get; receptions at one millisecond are ordered by it. */
  nextSeq(): number {
    return this.stmt.nextSeq.get()!.next
  }

  /**
   * The most recent accepted reception in the scope of `current` and strictly before it by
   * (received_at, seq): the one row the discount decision needs. Reads an index on (user,
   * received_at, seq). Since clock() keeps the relay's times from going back, this is the order
   * of arrival (seq) for everything the relay dated itself; a store's signed stamp may date a
   * reception earlier than its arrival, which is what stamps are for.
   */
  latestInScope(scope: DiscountScope, current: Pick<PastReception, 'user' | 'front' | 'lab' | 'receivedAt'> & { seq?: number }): PastReception | null {
    const at = current.receivedAt.getTime()
    // Without a seq: a reception not recorded yet, after every recorded one at the same instant.
    const seq = current.seq ?? Number.MAX_SAFE_INTEGER
    const row = scope === 'user' ? this.stmt.latestByUser.get(current.user, at, seq)
      : scope === 'front' ? this.stmt.latestByFront.get(current.user, current.front, at, seq)
      : this.stmt.latestByLab.get(current.user, current.lab, at, seq)
    if (row) this.discountRowsRead++
    return row ? pastOf(row) : null
  }

  /**
   * The accepted receptions in the scope of `current` received at or after `fromMs` and strictly
   * before it, most recent first: one range of the same indexes as latestInScope.
   */
  inScopeSince(scope: DiscountScope, current: Pick<PastReception, 'user' | 'front' | 'lab' | 'receivedAt'> & { seq?: number }, fromMs: number): PastReception[] {
    const at = current.receivedAt.getTime()
    const seq = current.seq ?? Number.MAX_SAFE_INTEGER
    const rows = scope === 'user' ? this.stmt.sinceByUser.all(current.user, fromMs, at, seq)
      : scope === 'front' ? this.stmt.sinceByFront.all(current.user, current.front, fromMs, at, seq)
      : this.stmt.sinceByLab.all(current.user, current.lab, fromMs, at, seq)
    this.discountRowsRead += rows.length
    return rows.map(pastOf)
  }

  /** The previous receptions of `current` in `scope`, as the discount checker reads them (shared/discount.ts decideFrom). */
  reader(scope: DiscountScope, current: CurrentReception): PreviousReader {
    return { latest: () => this.latestInScope(scope, current), since: (fromMs) => this.inScopeSince(scope, current, fromMs) }
  }

  /** Accepted receptions whose discount cites `order` as their previous order (by index). */
  citing(order: string): Reception[] {
    return this.stmt.citing.all(order, order).map(fromRow)
  }

  /** An accepted order citing `order` whose lab has started printing it, or null (discount.ts refuseCancel). */
  startedCiting(order: string): string | null {
    return this.stmt.startedCiting.get(order, order)?.order_id ?? null
  }

  /** Notes how far the order's lab got (progress.status), for the cancel rule. */
  setProgress(order: string, status: string | null): void {
    this.stmt.setProgress.run(status, order, status)
  }

  /**
   * Records a reception, and the images its lab may fetch, in one transaction; an accepted one gets
   * its store's next order number in the same transaction, so a crash can neither lose a number
   * given to an order nor give one out twice. Returns the stored
   * reception; when the order was already received, the earlier one (exactly once per order).
   * IMMEDIATE: the document writer thread commits to the same file, and a deferred transaction
   * that reads before it writes fails with SQLITE_BUSY instead of waiting its turn.
   */
  record(reception: NewReception, images: string[]): Reception {
    return this.db.transaction(() => {
      const existing = this.get(reception.order)
      if (existing) return existing
      const d = reception.discount
      const counter = reception.status === 'accepted' ? this.stmt.countOrder.get(reception.front)!.last : null
      this.stmt.insert.run({
        order: reception.order, number: counter === null ? null : orderNumber.encode(counter), user: reception.user, front: reception.front, lab: reception.lab,
        receivedAt: reception.receivedAt.getTime(), status: reception.status, error: reception.error,
        lines: JSON.stringify(reception.lines), total: reception.total, currency: reception.currency,
        dOrder: d?.previousOrder ?? null, dAt: d ? Date.parse(d.previousReceivedAt) : null,
        dWithin: d?.within ?? null, dAmount: d?.amount ?? null,
        stamp: reception.storeStamp ? JSON.stringify(reception.storeStamp) : null,
        ...frontDiscountColumns(reception.frontDiscount ?? null), pickupFront: reception.pickupFront ?? null,
      })
      if (reception.status === 'accepted') for (const sha of images) this.stmt.addImage.run(reception.order, sha, reception.lab)
      this.stmt.stopWaiting.run(reception.order)
      return this.get(reception.order)!
    }).immediate()
  }

  /** The receipt and the lab queue entry are in the documents: nothing left to redo after a crash. */
  markDelivered(order: string): void {
    this.stmt.markDelivered.run(order)
  }

  /**
   * The receipt and queue entry are in the documents as `delivered` had them: marked only when the
   * reception is still so (not cancelled, repriced or moved since), else its current state is owed.
   */
  markDeliveredAs(delivered: Pick<Reception, 'order' | 'status' | 'lab' | 'total' | 'discount' | 'frontDiscount'>): void {
    this.stmt.markDeliveredAs.run({
      order: delivered.order, status: delivered.status, lab: delivered.lab, total: delivered.total,
      dOrder: delivered.discount?.previousOrder ?? null, frontDiscountOrder: delivered.frontDiscount?.previousOrder ?? null,
    })
  }

  /** Receptions whose receipt or queue entry may not have reached the documents (a crash in between). */
  undelivered(): Reception[] {
    return this.stmt.undelivered.all().map(fromRow)
  }

  /**
   * A cancelled order no longer counts as a previous order; its queue entry must go. In the same
   * transaction every accepted order that cited it is priced again by `reprice` (which decides the
   * discount from what still qualifies) and marked undelivered, so a crash right after still
   * rewrites their receipts (resume). Returns the repriced receptions; none when `order` was not
   * an accepted one.
   */
  cancel(order: string, reprice: (citing: Reception) => Repricing): Reception[] {
    return this.db.transaction(() => {
      if (this.stmt.cancel.run(order).changes === 0) return []
      return this.citing(order).map((citing) => {
        const { lines, total, discount: d, frontDiscount } = reprice(citing)
        this.stmt.reprice.run({
          order: citing.order, lines: JSON.stringify(lines), total, dOrder: d?.previousOrder ?? null,
          dAt: d ? Date.parse(d.previousReceivedAt) : null, dWithin: d?.within ?? null, dAmount: d?.amount ?? null,
          ...frontDiscountColumns(frontDiscount),
        })
        return this.get(citing.order)!
      })
    }).immediate()
  }

  /** A cancelled submission that was still waiting for its photos is no longer waited for. */
  stopWaiting(order: string): void {
    this.stmt.stopWaiting.run(order)
  }

  /** Moves an accepted order to another lab: its reception and the photos that lab may fetch. */
  reassign(order: string, lab: string): void {
    this.db.transaction(() => {
      // The new lab starts afresh: the old lab's progress (failed, held) is not the new lab's.
      this.db.prepare('UPDATE receptions SET lab = ?, delivered = 0, progress = NULL WHERE order_id = ?').run(lab, order)
      this.db.prepare('UPDATE order_images SET lab = ? WHERE order_id = ?').run(lab, order)
    }).immediate()
  }

  labUsesImage(lab: string, sha256: string): boolean {
    return this.stmt.labUsesImage.get(sha256, lab) !== undefined
  }

  /** A submitted order waiting for its photos: remembers when the relay first saw the submission. */
  awaitingSince(order: string, user: string, firstSeen: Date): Date {
    this.stmt.wait.run(order, user, this.clock(firstSeen).getTime())
    return new Date(this.stmt.waiting.get(order)!.first_seen)
  }

  waitingOrders(user?: string): string[] {
    return (user === undefined ? this.stmt.allWaiting.all() : this.stmt.waitingFor.all(user)).map((r) => r.order_id)
  }

  /** Notes which photos a waiting order still misses (and its store), for the admin's listing. */
  setMissing(order: string, missing: readonly string[], front: string | null): void {
    this.stmt.setMissing.run(JSON.stringify(missing), front, order)
  }

  /** Every order waiting for photos, oldest first: what the admin lists as `waiting`. */
  waitingList(): WaitingOrder[] {
    return this.stmt.waitingList.all().map((r) => ({
      order: r.order_id, user: r.user_id, front: r.front, firstSeen: new Date(r.first_seen), missing: JSON.parse(r.missing) as string[],
    }))
  }
}

/** The store's discount as stored: the decision as JSON, and the order it cites for the index. */
function frontDiscountColumns(d: DiscountDecision | null): { frontDiscount: string | null; frontDiscountOrder: string | null } {
  return { frontDiscount: d ? JSON.stringify(d) : null, frontDiscountOrder: d?.previousOrder ?? null }
}
