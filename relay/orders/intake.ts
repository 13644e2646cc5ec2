// Order intake: when an order's spec.state becomes `submitted`, the relay reads the spec through
// the one schema the lab reads it with (shared/order-spec.ts), checks it against the catalog,
// records the reception once (its own clock, never going back), decides the discount, prices it,
// writes the receipt into the order and puts it in its lab's queue. It sends nothing to the lab.
// A malformed order gets a rejected receipt saying why, never a price.
import type * as Y from 'yjs'
import { citedRefusal, decide } from '../../shared/discount.ts'
import { priceOrder, withDiscount } from '../../shared/pricing.ts'
import { validateSubmission } from '../../shared/validate.ts'
import { readOrderSpec } from '../../shared/order-spec.ts'
import { HttpError } from '../../shared/errors.ts'
import { hasStarted, roomName, type Catalog, type QueueEntry, type Receipt } from '../../shared/schema.ts'
import type { Principal, WriteShape } from '../../shared/rights.ts'
import type { Receptions, Reception, Repricing, StoreStampNote } from '../store/receptions.ts'
import type { LabKeys } from '../store/lab-keys.ts'
import { readStamp, specDigest } from '../../shared/signing.ts'
import { judgeStamp } from './stamps.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import { RELAY_ORIGIN, type Room } from '../../sync-server/room.ts'

export interface IntakeDeps {
  rooms: Rooms
  receptions: Receptions
  catalog: Catalog
  now: () => number
  /** The keys lab nodes sign in-store stamps with; without them stamps are ignored. */
  labKeys?: LabKeys
  /** Whether `user` has uploaded the image (and so may use it in an order). */
  imageUploaded: (sha256: string, user: string) => boolean
  /** Fault injection for tests: wait this long between recording a submission and receiving it. */
  delayMs?: number
}

export class Intake {
  /** One intake at a time per order, so two devices submitting together record one reception. */
  private readonly inFlight = new Map<string, Promise<void>>()

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
      const room = await this.deps.rooms.get({ kind: 'order', name: roomName.order(order), orderId: order })
      try {
        // Queued, held (waiting for a printer) or failed (the lab could not print it): nothing is at
        // a printer, so it may move. Checked and moved in one turn, so the old lab's `printing`
        // cannot slip in between; from the receipt's rewrite on, the old lab may not write it.
        const progress = room.doc.getMap('progress').get('status')
        if (hasStarted(progress)) { outcome = new HttpError(409, `order ${order} is already ${String(progress)} at ${reception.lab}; it can no longer move`); return }
        this.deps.receptions.reassign(order, lab)
        // The new lab starts afresh: the old lab's `failed` (or `held`) is not the new lab's state.
        await room.writeAsRelay((doc) => {
          doc.getMap('receipt').set('lab', lab)
          const stale = doc.getMap('progress')
          for (const key of [...stale.keys()]) stale.delete(key)
        })
      } finally {
        this.deps.rooms.released(room)
      }
      const oldLab = reception.lab
      const labRoom = await this.deps.rooms.get({ kind: 'lab', name: roomName.lab(oldLab), labId: oldLab })
      try {
        await labRoom.writeAsRelay((doc) => doc.getMap('queue').delete(order))
      } finally {
        this.deps.rooms.released(labRoom)
      }
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
    const room = await this.deps.rooms.get({ kind: 'order', name: roomName.order(order), orderId: order })
    const { state, owner } = room.facts()
    const reading = readOrderSpec(room.doc, order)
    const rawFront = room.doc.getMap('spec').get('front')
    const stamp = readStamp(room.doc.getMap('instore'))
    this.deps.rooms.released(room)
    if (state !== 'submitted' || owner === null) return
    const { catalog } = this.deps
    const user = owner
    const spec = reading.spec
    // The shape first (what the lab can print), then the catalog (what we offer).
    const problems = spec === null ? reading.problems : validateSubmission(spec, catalog, user)
    const front = spec === null ? undefined : catalog.fronts.find((f) => f.id === spec.front)
    const lab = catalog.labs.find((l) => l.id === front?.lab)
    const now = this.clock()
    if (spec !== null && problems.length === 0) {
      const images = [...new Set(spec.items.map((item) => item.image))]
      if (images.some((sha) => !this.deps.imageUploaded(sha, user))) {
        // Offline customers submit before their photos finish uploading: wait, don't reject.
        this.deps.receptions.awaitingSince(order, user, now)
        return
      }
    }
    const firstSeen = problems.length === 0 ? this.deps.receptions.awaitingSince(order, user, now) : now
    // Received in a store while the relay was out of reach: dated by the lab node's signed stamp (stamps.ts).
    let storeStamp: StoreStampNote | null = null
    let receivedAt = firstSeen
    if (stamp && spec && front && lab && this.deps.labKeys) {
      const { at, ...note } = judgeStamp(stamp, { order, user, front: front.id, lab: lab.id, spec: specDigest(spec) }, firstSeen, this.deps.labKeys)
      storeStamp = note
      if (at) receivedAt = at
      else console.warn(`relay: order ${order}: in-store stamp not used: ${note.reason}`)
    }
    let reception: Reception
    if (spec === null || problems.length > 0 || !front || !lab) {
      reception = this.deps.receptions.record({
        // Only strings the relay can store and list: a front written as an object is noted as none.
        order, user, front: typeof rawFront === 'string' ? rawFront.slice(0, 64) : '', lab: lab?.id ?? '', receivedAt, status: 'rejected',
        error: problems.join(' ') || 'The order cannot be taken.', lines: [], total: 0, currency: catalog.currency, discount: null, storeStamp,
      }, [])
    } else {
      const current = { order, user, front: front.id, lab: lab.id, receivedAt, seq: this.deps.receptions.nextSeq() }
      const discount = this.decideFor(current)
      const { lines, total } = priceOrder({ items: spec.items, front, lab, products: catalog.products, discount, currency: catalog.currency })
      reception = this.deps.receptions.record({
        order, user, front: front.id, lab: lab.id, receivedAt, status: 'accepted', error: null,
        lines, total, currency: catalog.currency, discount, storeStamp,
      }, spec.items.map((item) => item.image))
    }
    await this.deliver(reception)
  }

  /** The discount of `current` from the one reception that can give it (Receptions.latestInScope). */
  private decideFor(current: { order: string; user: string; front: string; lab: string; receivedAt: Date; seq: number }) {
    const { catalog } = this.deps
    const previous = this.deps.receptions.latestInScope(catalog.discounts.scope, current)
    return decide(previous ? [previous] : [], current, catalog.discounts, catalog.timeZone)
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
    if (!reception) { this.deps.receptions.stopWaiting(order); return }
    if (reception.status !== 'accepted') return
    const repriced = this.deps.receptions.cancel(order, (citing) => this.reprice(citing))
    await this.deliver({ ...reception, status: 'cancelled' })
    for (const other of repriced) {
      if (hasStarted(other.progress)) console.warn(`relay: order ${other.order} was priced again after its lab started printing: its previous order ${order} was cancelled meanwhile`)
      void this.serialize(other.order, () => this.deliver(other))
    }
  }

  private reprice(citing: Reception): Repricing {
    const discount = this.decideFor(citing)
    return { ...withDiscount(citing.lines, discount), discount }
  }

  /** Writes the receipt and the queue entry (or removes it, when cancelled); safe to repeat. */
  private async deliver(reception: Reception): Promise<void> {
    const { rooms } = this.deps
    const orderRoom = await rooms.get({ kind: 'order', name: roomName.order(reception.order), orderId: reception.order })
    try {
      const receipt = receiptOf(reception)
      await orderRoom.writeAsRelay((doc) => setChanged(doc.getMap('receipt'), receipt as unknown as Record<string, unknown>))
    } finally {
      rooms.released(orderRoom)
    }
    if (reception.status !== 'rejected') {
      const labRoom = await rooms.get({ kind: 'lab', name: roomName.lab(reception.lab), labId: reception.lab })
      try {
        await labRoom.writeAsRelay((doc) => {
          const queue = doc.getMap<QueueEntry>('queue')
          if (reception.status === 'cancelled') queue.delete(reception.order)
          else if (!queue.has(reception.order)) queue.set(reception.order, { receivedAt: reception.receivedAt.toISOString(), front: reception.front })
        })
      } finally {
        rooms.released(labRoom)
      }
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

function receiptOf(reception: Reception): Receipt {
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
  return receipt
}

/** Sets only the keys whose value differs, so a repeated delivery writes nothing. */
function setChanged(map: Y.Map<unknown>, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    if (JSON.stringify(map.get(key)) !== JSON.stringify(value)) map.set(key, value)
  }
}
