// Order intake, the shell around decide.ts: when an order's spec.state becomes `submitted`, it reads
// the order document and the relay's tables, lets decide() judge the submission (schema, catalog,
// photos, in-store stamp, discount, price), records the reception once (its own clock, never going
// back), writes the receipt into the order and puts it in its lab's queue. It sends nothing to the
// lab. Cancels, reassignment and deliveries after a crash pass here too.
import type * as Y from 'yjs'
import { citedRefusal } from '../../shared/discount.ts'
import { rediscount } from '../../shared/pricing.ts'
import { addDuration } from '../../shared/period.ts'
import { readOrderSpec } from '../../shared/order-spec.ts'
import { HttpError } from '../../shared/errors.ts'
import { hasStarted, type Catalog, type QueueEntry, type Receipt } from '../../shared/schema.ts'
import type { Principal, WriteShape } from '../../shared/rights.ts'
import type { Receptions, Reception, Repricing } from '../store/receptions.ts'
import type { LabKeys } from '../store/lab-keys.ts'
import { readStamp } from '../../shared/signing.ts'
import { decide, receptionOf, type Submission } from './decide.ts'
import { labRoom, orderRoom } from '../room-names.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import { RELAY_ORIGIN, type Room } from '../../sync-server/room.ts'

export interface IntakeDeps {
  rooms: Rooms
  receptions: Receptions
  catalog: Catalog
  now: () => number
  /** The keys lab nodes sign in-store stamps with; without them stamps are ignored. */
  labKeys?: LabKeys
  /** Whether `user` has uploaded the image (and so may use it in an order): the ImageStore's answer, asynchronous. */
  imageUploaded: (sha256: string, user: string) => boolean | Promise<boolean>
  /** Fault injection for tests: wait this long between recording a submission and receiving it. */
  delayMs?: number
  /** limits.photoWait: how long a submission waits for its photos (ISO 8601, from first sight); P7D when absent. */
  photoWait?: string
  /** The customer's display name from their account, for the receipt; null when unknown. */
  accountName?: (user: string) => string | null | Promise<string | null>
}

/** setTimeout's longest delay; a later deadline is looked at again then (waiting costs one timer). */
const MAX_TIMER_MS = 2 ** 31 - 1

export class Intake {
  /** One intake at a time per order, so two devices submitting together record one reception. */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** One timer per order waiting for photos, set for its deadline (photoWait after first sight). */
  private readonly deadlines = new Map<string, NodeJS.Timeout>()
  private closed = false

  constructor(private readonly deps: IntakeDeps) {}

  /** The `onChange` hook: every durable write to an order document passes here. */
  onOrderChange(room: Room, origin: Principal | typeof RELAY_ORIGIN): void {
    if (origin !== RELAY_ORIGIN) this.look(room)
  }

  /**
   * The `onLoad` hook: a submission stored just before a crash, and not yet received, is picked up
   * when its document is next opened.
   */
  onOrderLoad(room: Room): void {
    this.look(room)
  }

  /**
   * The `beforeWrite` hook (relay/server.ts: `hooks.beforeWrite = (room, principal, shape) =>
   * intake.beforeWrite(room, principal, shape)`): the customer may not cancel an order that gave
   * its repeat discount to an order already at the printer (shared/discount.ts, the cancel rule).
   * Synchronous and one indexed read: the lab's progress is kept with the reception.
   */
  beforeWrite(room: Room, principal: Principal, shape: WriteShape): string | null {
    if (room.name.kind !== 'order' || principal.kind !== 'user') return null
    if (shape.nextState !== 'cancelled' || !shape.specKeys.has('state') || room.facts().state === 'cancelled') return null
    const started = this.deps.receptions.startedCiting(room.name.orderId)
    return started === null ? null : citedRefusal(started)
  }

  /** Stops the deadline timers; the deadlines themselves are durable (first sight is stored) and resume() sets them again. */
  close(): void {
    this.closed = true
    for (const timer of this.deadlines.values()) clearTimeout(timer)
    this.deadlines.clear()
  }

  /** The relay's clock for receptions: never before an instant it already gave (Receptions.clock). */
  private clock(): Date {
    return this.deps.receptions.clock(new Date(this.deps.now()))
  }

  private look(room: Room): void {
    if (room.name.kind !== 'order') return
    const order = room.name.orderId
    const state = room.facts().state
    if (state === 'cancelled') {
      void this.serialize(order, () => this.cancel(order))
      return
    }
    if (state !== 'submitted') return
    const known = this.deps.receptions.get(order)
    if (known?.delivered) return
    // Noted synchronously, before anything async, so a restart finds the submission (resume()).
    // The owner, not spec.user: whatever a client wrote there, the relay records a string it trusts.
    if (!known) this.deps.receptions.awaitingSince(order, room.facts().owner ?? '', this.clock())
    void this.serialize(order, async () => {
      if (this.deps.delayMs) await new Promise((resolve) => setTimeout(resolve, this.deps.delayMs))
      await this.receive(order)
    })
  }

  /** After a restart: finish deliveries a crash interrupted, and look again at orders waiting for photos. */
  async resume(): Promise<void> {
    for (const reception of this.deps.receptions.undelivered()) await this.serialize(reception.order, () => this.deliver(reception))
    for (const order of this.deps.receptions.waitingOrders()) await this.retry(order)
  }

  /**
   * An admin moves an accepted order to another lab (its lab is down, say): the reception, the
   * receipt's `lab` and the queues follow. The price stays as received. Refused once printing began.
   */
  reassign(order: string, lab: string): Promise<void> {
    let outcome: Error | null = null
    return this.serialize(order, async () => {
      const reception = this.deps.receptions.get(order)
      if (!reception || reception.status !== 'accepted') { outcome = new Error(`order ${order} is not an accepted order`); return }
      if (reception.lab === lab) return
      outcome = await this.deps.rooms.borrow(orderRoom(order), async (room) => {
        // Queued, held (waiting for a printer) or failed (the lab could not print it): nothing is at
        // a printer, so it may move. Checked and moved in one turn, so the old lab's `printing`
        // cannot slip in between; from the receipt's rewrite on, the old lab may not write it.
        const progress = room.doc.getMap('progress').get('status')
        if (hasStarted(progress)) return new HttpError(409, `order ${order} is already ${String(progress)} at ${reception.lab}; it can no longer move`)
        this.deps.receptions.reassign(order, lab)
        // The new lab starts afresh: the old lab's `failed` (or `held`) is not the new lab's state.
        await room.writeAsRelay((doc) => {
          doc.getMap('receipt').set('lab', lab)
          const stale = doc.getMap('progress')
          for (const key of [...stale.keys()]) stale.delete(key)
        })
        return null
      })
      if (outcome) return
      await this.deps.rooms.borrow(labRoom(reception.lab), (room) => room.writeAsRelay((doc) => doc.getMap('queue').delete(order)))
      await this.deliver(this.deps.receptions.get(order)!)
    }).then(() => { if (outcome) throw outcome })
  }

  /** An image upload finished: orders of that customer waiting for photos may be complete now. */
  async imagesArrived(user: string): Promise<void> {
    for (const order of this.deps.receptions.waitingOrders(user)) await this.retry(order)
  }

  private retry(order: string): Promise<void> {
    return this.serialize(order, () => this.receive(order))
  }

  private serialize(order: string, work: () => Promise<void>): Promise<void> {
    const previous = this.inFlight.get(order) ?? Promise.resolve()
    const next = previous.then(() => retryWhileBusy(work)).catch((error: Error) => {
      console.error(`relay: intake of order ${order} failed: ${error.message}`)
    })
    this.inFlight.set(order, next)
    void next.then(() => { if (this.inFlight.get(order) === next) this.inFlight.delete(order) })
    return next
  }

  private async receive(order: string): Promise<void> {
    const known = this.deps.receptions.get(order)
    if (known) {
      if (!known.delivered) await this.deliver(known)
      return
    }
    const submission = await this.submission(order)
    if (submission === null) return
    const { receptions } = this.deps
    const decision = decide(submission, (scope, current) => receptions.reader(scope, current))
    // Offline customers submit before their photos finish uploading: wait (awaitingSince noted it),
    // and say so on the receipt, with the photos still missing, until the deadline.
    if (decision.kind === 'waiting') return this.wait(submission, decision.missing)
    this.clearDeadline(order)
    const { storeStamp } = decision.reception
    if (storeStamp && !storeStamp.used) console.warn(`relay: order ${order}: in-store stamp not used: ${storeStamp.reason}`)
    await this.deliver(receptions.record(decision.reception, decision.kind === 'accepted' ? decision.images : []))
  }

  /**
   * What decide() needs of a submitted order, read from its document and the relay's tables; null
   * when the order is no longer submitted. Notes the submission as awaited (its first sight).
   */
  private async submission(order: string): Promise<Submission | null> {
    const read = await this.deps.rooms.borrow(orderRoom(order), (room) => ({
      facts: room.facts(),
      reading: readOrderSpec(room.doc, order),
      rawFront: room.doc.getMap('spec').get('front'),
      stamp: readStamp(room.doc.getMap('instore')),
    }))
    const { state, owner: user } = read.facts
    if (state !== 'submitted' || user === null) return null
    const { receptions, labKeys, catalog } = this.deps
    // Without lab keys stamps are not checked: as if the order carried none.
    const stamp = labKeys ? read.stamp : null
    const images = read.reading.spec?.items.map((item) => item.image) ?? []
    // Asked before the clock is read and the sequence number taken, so no await falls between
    // those and the reception recorded with them.
    const owned = await Promise.all(images.map((sha) => this.deps.imageUploaded(sha, user)))
    const stampKey = stamp && labKeys ? await labKeys.get(stamp.key) : null
    const now = this.clock()
    const firstSeen = receptions.awaitingSince(order, user, now)
    return {
      order, user, reading: read.reading, rawFront: read.rawFront, stamp, catalog, now,
      stampKey,
      uploaded: new Set(images.filter((_, i) => owned[i])),
      firstSeen, photoDeadline: addDuration(firstSeen, this.deps.photoWait ?? 'P7D', catalog.timeZone),
      seq: receptions.nextSeq(),
    }
  }

  /**
   * The customer cancelled. An accepted order leaves its lab's queue and stops counting as a
   * previous order: every order whose discount cited it is priced again, in the same transaction,
   * and gets its receipt rewritten (shared/discount.ts, the cancel rule). beforeWrite refused the
   * cancel when one of those is already printing; one whose lab started printing while this cancel
   * was on its way is priced again too, so no receipt ever keeps a discount from a cancelled order.
   */
  private async cancel(order: string): Promise<void> {
    const reception = this.deps.receptions.get(order)
    if (!reception) { this.deps.receptions.stopWaiting(order); this.clearDeadline(order); return }
    if (reception.status !== 'accepted') return
    const repriced = this.deps.receptions.cancel(order, (citing) => this.reprice(citing))
    await this.deliver({ ...reception, status: 'cancelled' })
    for (const other of repriced) {
      if (hasStarted(other.progress)) console.warn(`relay: order ${other.order} was priced again after its lab started printing: its previous order ${order} was cancelled meanwhile`)
      void this.serialize(other.order, () => this.deliver(other))
    }
  }

  /** Both discounts of an order that cited a cancelled one, decided again from the receptions that still qualify. */
  private reprice(citing: Reception): Repricing {
    const { catalog, receptions } = this.deps
    const front = catalog.fronts.find((f) => f.id === citing.front)
    const lab = catalog.labs.find((l) => l.id === citing.lab)
    // A store or lab since removed from the config: it gives no discount any more, the prints and fee stay.
    const { lines, total, discount, frontDiscount } = rediscount(citing.lines, {
      front: front ?? { id: citing.front, name: citing.front, lab: citing.lab, fee: 0, roles: [] },
      lab: lab ?? { id: citing.lab, name: citing.lab, price: {}, discounts: { scope: 'user', tiers: [] } },
      catalog, current: citing, previous: (scope) => receptions.reader(scope, citing),
    })
    return { lines, total, discount, frontDiscount }
  }

  /**
   * The order waits for photos: the receipt says `waiting` with the photos still missing (updated as
   * they arrive), the admin's listing shows it, and a timer looks again at its deadline.
   */
  private async wait(submission: Submission, missing: string[]): Promise<void> {
    const { order, reading } = submission
    this.deps.receptions.setMissing(order, missing, reading.spec?.front ?? null)
    const receipt: Record<string, unknown> = { status: 'waiting', missing, receivedAt: submission.firstSeen.toISOString() }
    const name = await this.deps.accountName?.(submission.user)
    if (name) receipt.name = name
    await this.deps.rooms.borrow(orderRoom(order), (room) => room.writeAsRelay((doc) => setChanged(doc.getMap('receipt'), receipt)))
    this.setDeadline(order, submission.photoDeadline.getTime() - submission.now.getTime())
  }

  private setDeadline(order: string, inMs: number): void {
    if (this.closed || this.deadlines.has(order)) return
    const timer = setTimeout(() => {
      this.deadlines.delete(order)
      void this.retry(order)
    }, Math.min(Math.max(inMs, 0) + 1, MAX_TIMER_MS))
    timer.unref() // a waiting order never keeps the process alive; resume() sets the timer again
    this.deadlines.set(order, timer)
  }

  private clearDeadline(order: string): void {
    clearTimeout(this.deadlines.get(order))
    this.deadlines.delete(order)
  }

  /** Writes the receipt and the queue entry (or removes it, when cancelled); safe to repeat. */
  private async deliver(reception: Reception): Promise<void> {
    const { rooms } = this.deps
    const receipt = receiptOf(reception, (await this.deps.accountName?.(reception.user)) ?? null) as unknown as Record<string, unknown>
    await rooms.borrow(orderRoom(reception.order), (room) => room.writeAsRelay((doc) => {
      const map = doc.getMap('receipt')
      setChanged(map, receipt)
      // No longer waiting: the list of missing photos goes with the status.
      if (map.has('missing')) map.delete('missing')
      // A store's discount taken back (the order it cited was cancelled) leaves none on the receipt.
      if (!reception.frontDiscount && map.get('frontDiscount')) map.set('frontDiscount', null)
    }))
    if (reception.status !== 'rejected') {
      await rooms.borrow(labRoom(reception.lab), (room) => room.writeAsRelay((doc) => {
        const queue = doc.getMap<QueueEntry>('queue')
        if (reception.status === 'cancelled') queue.delete(reception.order)
        else if (!queue.has(reception.order)) queue.set(reception.order, queueEntryOf(reception))
      }))
    }
    this.deps.receptions.markDelivered(reception.order)
  }
}

/**
 * Runs `work` again (up to 5 times, 200 ms apart) when SQLite is busy with another connection's
 * commit beyond its busy timeout; every step of intake is safe to repeat.
 */
async function retryWhileBusy(work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= 5 || !String((error as { code?: string }).code).startsWith('SQLITE_BUSY')) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

function queueEntryOf(reception: Reception): QueueEntry {
  const entry: QueueEntry = { receivedAt: reception.receivedAt.toISOString(), front: reception.front }
  if (reception.pickupFront && reception.pickupFront !== reception.front) entry.pickupFront = reception.pickupFront
  return entry
}

function receiptOf(reception: Reception, name: string | null): Receipt {
  const receipt: Receipt = {
    status: reception.status === 'rejected' ? 'rejected' : 'accepted',
    receivedAt: reception.receivedAt.toISOString(),
    lab: reception.lab,
    lines: reception.lines,
    total: reception.total,
    currency: reception.currency,
    discount: reception.discount,
  }
  if (reception.error) receipt.error = reception.error
  if (reception.number) receipt.number = reception.number
  if (reception.pickupFront) receipt.pickupFront = reception.pickupFront
  // Written only when the store has its own discount rules or gave one: receipts of stores without stay as they were.
  if (reception.frontDiscount) receipt.frontDiscount = reception.frontDiscount
  if (name) receipt.name = name
  return receipt
}

/** Sets only the keys whose value differs, so a repeated delivery writes nothing. */
function setChanged(map: Y.Map<unknown>, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    if (JSON.stringify(map.get(key)) !== JSON.stringify(value)) map.set(key, value)
  }
}
