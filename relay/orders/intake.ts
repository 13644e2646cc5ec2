// Order intake, the shell around decide.ts: when an order's spec.state becomes `submitted`, it reads
// the order document and the relay's tables, lets decide() judge the submission (schema, catalog,
// photos, in-store stamp, discount, price), records the reception once (its own clock, never going
// back), writes the receipt into the order and puts it in its lab's queue. It sends nothing to the
// lab. Cancels, reassignment and deliveries after a crash pass here too. The reception store
// (store/reception-store.ts) decides atomically per customer, on one relay or several.
import { citedRefusal } from '../../shared/discount.ts'
import { rediscount } from '../../shared/pricing.ts'
import { addDuration } from '../../shared/period.ts'
import { readOrderSpec } from '../../shared/order-spec.ts'
import { HttpError } from '../../shared/errors.ts'
import { hasStarted, type Catalog, type QueueEntry } from '../../shared/schema.ts'
import type { Principal, WriteShape } from '../../shared/rights.ts'
import type { Reception, Repricing } from '../store/receptions.ts'
import type { DeliveredAs, ReceiveOutcome, ReceiveVerdict, ReceptionStore } from '../store/reception-store.ts'
import type { LabKey } from '../store/lab-keys.ts'
import { readStamp } from '../../shared/signing.ts'
import { decide, type PreviousLookup, type Submission } from './decide.ts'
import { queueEntryOf, receiptOf, setChanged } from './receipt.ts'
import { labRoom, orderRoom } from '../room-names.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import { RELAY_ORIGIN, type Room } from '../../sync-server/room.ts'
import { settleWithin } from './settle.ts'

export interface IntakeDeps {
  rooms: Rooms
  receptions: ReceptionStore
  catalog: Catalog
  now: () => number
  /** The keys lab nodes sign in-store stamps with; without them stamps are ignored. */
  labKeys?: { get(keyId: string): LabKey | null | Promise<LabKey | null> }
  /** Whether `user` has uploaded the image (and so may use it in an order): the ImageStore's answer, asynchronous. */
  imageUploaded: (sha256: string, user: string) => boolean | Promise<boolean>
  /** Fault injection for tests: wait this long between recording a submission and receiving it. */
  delayMs?: number
  /** limits.photoWait: how long a submission waits for its photos (ISO 8601, from first sight); P7D when absent. */
  photoWait?: string
  /** The customer's display name from their account, for the receipt; null when unknown. */
  accountName?: (user: string) => string | null | Promise<string | null>
  /**
   * Cluster mode: look this often for work a relay left undone (it died between a submission and
   * its reception, or before writing a receipt, or its photo deadline timer went with it); claimed
   * in the shared store so relays sweeping at once share it. Only at start without it.
   */
  sweepMs?: number
}

/** setTimeout's longest delay; a later deadline is looked at again then (waiting costs one timer). */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Orders a sweep takes per claim, and how long a claim keeps other relays off them. */
const SWEEP_BATCH = 100
const CLAIM_MS = 60_000

/** What decide() needs of a submitted order that is read outside the store's transaction. */
type SubmissionRead = Omit<Submission, 'now' | 'firstSeen' | 'photoDeadline' | 'seq'>

export class Intake {
  /** One intake at a time per order, so two devices submitting together record one reception. */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** One timer per order waiting for photos, set for its deadline (photoWait after first sight). */
  private readonly deadlines = new Map<string, NodeJS.Timeout>()
  private closed = false
  private sweeper: NodeJS.Timeout | null = null
  private sweeping: Promise<void> | null = null

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
   * One indexed read (the lab's progress is kept with the reception), asynchronous: the room holds
   * this one rare write (a customer's cancel) until it is answered, whichever relay has the facts.
   */
  beforeWrite(room: Room, principal: Principal, shape: WriteShape): string | null | Promise<string | null> {
    if (room.name.kind !== 'order' || principal.kind !== 'user') return null
    if (shape.nextState !== 'cancelled' || !shape.specKeys.has('state') || room.facts().state === 'cancelled') return null
    return this.deps.receptions.startedCiting(room.name.orderId).then((started) => started === null ? null : citedRefusal(started))
  }

  /** Stops the timers; the deadlines themselves are durable (first sight is stored) and resume() sets them again. */
  close(): void {
    this.closed = true
    for (const timer of this.deadlines.values()) clearTimeout(timer)
    this.deadlines.clear()
    if (this.sweeper) clearInterval(this.sweeper)
  }

  /**
   * Resolves once the intakes in flight have settled, or after `limitMs`: a relay shutting down
   * waits for them before it closes the rooms and stores they write to (each step is safe to
   * repeat, so one cut off by the limit is finished by the next start or another relay's sweep).
   */
  settled(limitMs = 5_000): Promise<void> {
    return settleWithin(this.inFlight.values(), limitMs)
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
    // First sight is the moment the relay saw it, whenever the store notes it. The owner, not
    // spec.user: whatever a client wrote there, the relay records a string it trusts.
    const seen = new Date(this.deps.now())
    const owner = room.facts().owner ?? ''
    void this.serialize(order, async () => {
      const known = await this.deps.receptions.get(order)
      if (known?.delivered) return
      // Noted before the (test-only) delay and the decision, so a restart finds the submission (resume()).
      if (!known) await this.deps.receptions.awaitingSince(order, owner, seen)
      if (this.deps.delayMs) await new Promise((resolve) => setTimeout(resolve, this.deps.delayMs))
      await this.receive(order)
    })
  }

  /**
   * After a restart: finish deliveries a crash interrupted, and look again at orders waiting for
   * photos. In a cluster (sweepMs) the same again every sweepMs, for whatever a relay that died
   * left: claimed a batch at a time, so relays sweeping at once take different orders.
   */
  async resume(): Promise<void> {
    await this.sweep()
    if (this.deps.sweepMs && !this.closed && !this.sweeper) {
      this.sweeper = setInterval(() => void this.sweep(), this.deps.sweepMs)
      this.sweeper.unref()
    }
  }

  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => { this.sweeping = null })
    return this.sweeping
  }

  private async sweepOnce(): Promise<void> {
    const { receptions } = this.deps
    for (let batch: Reception[] = []; !this.closed && (batch = await receptions.undelivered(SWEEP_BATCH, CLAIM_MS)).length > 0;) {
      for (const reception of batch) await this.serialize(reception.order, () => this.receive(reception.order))
    }
    for (let batch: string[] = []; !this.closed && (batch = await receptions.waitingOrders({ limit: SWEEP_BATCH, claimMs: CLAIM_MS })).length > 0;) {
      for (const order of batch) await this.retry(order)
    }
  }

  /**
   * An admin moves an accepted order to another lab (its lab is down, say): the reception, the
   * receipt's `lab` and the queues follow. The price stays as received. Refused once printing began.
   */
  reassign(order: string, lab: string): Promise<void> {
    let outcome: Error | null = null
    return this.serialize(order, async () => {
      const reception = await this.deps.receptions.get(order)
      if (!reception || reception.status !== 'accepted') { outcome = new Error(`order ${order} is not an accepted order`); return }
      if (reception.lab === lab) return
      outcome = await this.deps.rooms.borrow(orderRoom(order), async (room) => {
        // Queued, held (waiting for a printer) or failed (the lab could not print it): nothing is at
        // a printer, so it may move. Checked and the receipt rewritten in one turn (the store's
        // update after), so the old lab's `printing` cannot slip in between; from the receipt's
        // rewrite on, the old lab may not write it.
        const progress = room.doc.getMap('progress').get('status')
        if (hasStarted(progress)) return new HttpError(409, `order ${order} is already ${String(progress)} at ${reception.lab}; it can no longer move`)
        // The new lab starts afresh: the old lab's `failed` (or `held`) is not the new lab's state.
        const rewritten = room.writeAsRelay((doc) => {
          doc.getMap('receipt').set('lab', lab)
          const stale = doc.getMap('progress')
          for (const key of [...stale.keys()]) stale.delete(key)
        })
        await Promise.all([rewritten, this.deps.receptions.reassign(order, lab)])
        return null
      })
      if (outcome) return
      await this.deps.rooms.borrow(labRoom(reception.lab), (room) => room.writeAsRelay((doc) => doc.getMap('queue').delete(order)))
      await this.deliver((await this.deps.receptions.get(order))!)
    }).then(() => { if (outcome) throw outcome })
  }

  /** An image upload finished: orders of that customer waiting for photos may be complete now. */
  async imagesArrived(user: string): Promise<void> {
    for (const order of await this.deps.receptions.waitingOrders({ user })) await this.retry(order)
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
    const { receptions, catalog } = this.deps
    const known = await receptions.get(order)
    if (known) {
      if (!known.delivered) await this.deliver(known)
      return
    }
    const read = await this.submission(order)
    if (read === null) return
    // Decided and recorded in one store transaction, after every other reception of this customer
    // on any relay (store/reception-store.ts receive): the clock, the sequence number and the
    // previous receptions are the store's, read inside it.
    const outcome = await receptions.receive(order, read.user, new Date(this.deps.now()), ({ now, firstSeen, seq, previous }) => verdictOf(read, decide({
      ...read, now, firstSeen, seq, photoDeadline: addDuration(firstSeen, this.deps.photoWait ?? 'P7D', catalog.timeZone),
    }, previous)))
    // Offline customers submit before their photos finish uploading: wait (first sight is noted),
    // and say so on the receipt, with the photos still missing, until the deadline.
    if (outcome.kind === 'waiting') return this.wait(read, outcome)
    this.clearDeadline(order)
    const { reception, fresh } = outcome
    if (fresh && reception.storeStamp && !reception.storeStamp.used) console.warn(`relay: order ${order}: in-store stamp not used: ${reception.storeStamp.reason}`)
    if (!reception.delivered) await this.deliver(reception)
  }

  /**
   * What decide() needs of a submitted order that its document holds, and the customer's photos
   * and the stamp's key; null when the order is no longer submitted. The rest (clock, first sight,
   * sequence number, previous receptions) is the store's, inside its transaction.
   */
  private async submission(order: string): Promise<SubmissionRead | null> {
    const read = await this.deps.rooms.borrow(orderRoom(order), (room) => ({
      facts: room.facts(),
      reading: readOrderSpec(room.doc, order),
      rawFront: room.doc.getMap('spec').get('front'),
      stamp: readStamp(room.doc.getMap('instore')),
    }))
    const { state, owner: user } = read.facts
    if (state !== 'submitted' || user === null) return null
    const { labKeys, catalog } = this.deps
    // Without lab keys stamps are not checked: as if the order carried none.
    const stamp = labKeys ? read.stamp : null
    const images = read.reading.spec?.items.map((item) => item.image) ?? []
    const owned = await Promise.all(images.map((sha) => this.deps.imageUploaded(sha, user)))
    return {
      order, user, reading: read.reading, rawFront: read.rawFront, stamp, catalog,
      stampKey: stamp && labKeys ? await labKeys.get(stamp.key) : null,
      uploaded: new Set(images.filter((_, i) => owned[i])),
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
    const { receptions } = this.deps
    const reception = await receptions.get(order)
    if (!reception) { await receptions.stopWaiting(order); this.clearDeadline(order); return }
    if (reception.status !== 'accepted') return
    const repriced = await receptions.cancel(order, (citing, previous) => this.reprice(citing, previous))
    await this.deliver({ ...reception, status: 'cancelled' })
    for (const other of repriced) {
      if (hasStarted(other.progress)) console.warn(`relay: order ${other.order} was priced again after its lab started printing: its previous order ${order} was cancelled meanwhile`)
      void this.serialize(other.order, () => this.deliver(other))
    }
  }

  /** Both discounts of an order that cited a cancelled one, decided again from the receptions that still qualify. */
  private reprice(citing: Reception, previous: PreviousLookup): Repricing {
    const { catalog } = this.deps
    const front = catalog.fronts.find((f) => f.id === citing.front)
    const lab = catalog.labs.find((l) => l.id === citing.lab)
    // A store or lab since removed from the config: it gives no discount any more, the prints and fee stay.
    const { lines, total, discount, frontDiscount } = rediscount(citing.lines, {
      front: front ?? { id: citing.front, name: citing.front, lab: citing.lab, fee: 0, roles: [] },
      lab: lab ?? { id: citing.lab, name: citing.lab, price: {}, discounts: { scope: 'user', tiers: [] } },
      catalog, current: citing, previous: (scope) => previous(scope, citing),
    })
    return { lines, total, discount, frontDiscount }
  }

  /**
   * The order waits for photos: the receipt says `waiting` with the photos still missing (updated as
   * they arrive; the store noted them for the admin's listing), and a timer looks again at its deadline.
   */
  private async wait(read: SubmissionRead, outcome: Extract<ReceiveOutcome, { kind: 'waiting' }>): Promise<void> {
    const { missing, firstSeen, now } = outcome
    const receipt: Record<string, unknown> = { status: 'waiting', missing, receivedAt: firstSeen.toISOString() }
    const name = await this.deps.accountName?.(read.user)
    if (name) receipt.name = name
    await this.deps.rooms.borrow(orderRoom(read.order), (room) => room.writeAsRelay((doc) => setChanged(doc.getMap('receipt'), receipt)))
    const deadline = addDuration(firstSeen, this.deps.photoWait ?? 'P7D', this.deps.catalog.timeZone)
    this.setDeadline(read.order, deadline.getTime() - now.getTime())
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

  /**
   * Writes the receipt and the queue entry (or removes it, when cancelled); safe to repeat, on any
   * relay. Marked delivered only as written: when the reception changed meanwhile (another relay
   * cancelled or repriced it), its current state is written again, so a stale write never stays.
   */
  private async deliver(reception: Reception, rounds = 3): Promise<void> {
    const { rooms, receptions } = this.deps
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
    await receptions.markDelivered(reception)
    const current = await receptions.get(reception.order)
    if (current && !current.delivered && changedSince(reception, current) && rounds > 1) await this.deliver(current, rounds - 1)
  }
}

/** Whether what a delivery wrote (status, lab, price, discounts) is no longer the reception's. */
function changedSince(written: DeliveredAs, current: DeliveredAs): boolean {
  return written.status !== current.status || written.lab !== current.lab || written.total !== current.total ||
    written.discount?.previousOrder !== current.discount?.previousOrder || written.frontDiscount?.previousOrder !== current.frontDiscount?.previousOrder
}

/** decide()'s answer as the store records it. */
function verdictOf(read: SubmissionRead, decision: ReturnType<typeof decide>): ReceiveVerdict {
  if (decision.kind === 'waiting') return { kind: 'waiting', missing: decision.missing, front: read.reading.spec?.front ?? null }
  return { kind: 'record', reception: decision.reception, images: decision.kind === 'accepted' ? decision.images : [] }
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

