// Order intake: when an order's spec.state becomes `submitted`, the relay validates it, records
// the reception once (its own clock), decides the discount, prices it, writes the receipt into
// the order and puts it in its lab's queue. It sends nothing to the lab.
import type * as Y from 'yjs'
import { decide } from '../../shared/discount.ts'
import { priceOrder } from '../../shared/pricing.ts'
import { validateSubmission } from '../../shared/validate.ts'
import { readSpec, roomName, type Catalog, type OrderSpec, type QueueEntry, type Receipt } from '../../shared/schema.ts'
import type { Principal } from '../../shared/rights.ts'
import type { Receptions, Reception, StoreStampNote } from '../store/receptions.ts'
import type { LabKeys } from '../store/lab-keys.ts'
import { readStamp, specDigest } from '../../shared/signing.ts'
import { judgeStamp } from './stamps.ts'
import type { Rooms } from '../sync/rooms.ts'
import { RELAY_ORIGIN, type Room } from '../sync/room.ts'

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

  private look(room: Room): void {
    if (room.name.kind !== 'order') return
    const order = room.name.orderId
    const spec = room.doc.getMap('spec')
    const state = spec.get('state')
    if (state === 'cancelled') {
      void this.serialize(order, () => this.cancel(order))
      return
    }
    if (state !== 'submitted') return
    const known = this.deps.receptions.get(order)
    if (known?.delivered) return
    // Noted synchronously, before anything async, so a restart finds the submission (resume()).
    if (!known) this.deps.receptions.awaitingSince(order, String(spec.get('user')), new Date(this.deps.now()))
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
      const progress = room.doc.getMap('progress').get('status')
      this.deps.rooms.released(room)
      if (progress === 'printing' || progress === 'printed') { outcome = new Error(`order ${order} is already ${progress} at ${reception.lab}`); return }
      const oldLab = reception.lab
      this.deps.receptions.reassign(order, lab)
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
    const spec = readSpec(room.doc) as Partial<OrderSpec>
    const stamp = readStamp(room.doc.getMap('instore'))
    this.deps.rooms.released(room)
    if (spec.state !== 'submitted') return
    const { catalog } = this.deps
    const user = spec.user!
    const problems = validateSubmission(spec, catalog, user)
    const front = catalog.fronts.find((f) => f.id === spec.front)
    const lab = catalog.labs.find((l) => l.id === front?.lab)
    const now = new Date(this.deps.now())
    if (problems.length === 0) {
      const images = [...new Set(spec.items!.map((item) => item.image))]
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
    if (stamp && front && lab && this.deps.labKeys) {
      const { at, ...note } = judgeStamp(stamp, { order, user, front: front.id, lab: lab.id, spec: specDigest(spec) }, firstSeen, this.deps.labKeys)
      storeStamp = note
      if (at) receivedAt = at
      else console.warn(`relay: order ${order}: in-store stamp not used: ${note.reason}`)
    }
    let reception: Reception
    if (problems.length > 0 || !front || !lab) {
      reception = this.deps.receptions.record({
        order, user, front: spec.front ?? '', lab: lab?.id ?? '', receivedAt, status: 'rejected',
        error: problems.join(' '), lines: [], total: 0, currency: catalog.currency, discount: null, storeStamp,
      }, [])
    } else {
      const current = { order, user, front: front.id, lab: lab.id, receivedAt, seq: this.deps.receptions.nextSeq() }
      const previous = this.deps.receptions.latestInScope(catalog.discounts.scope, current)
      const discount = decide(previous ? [previous] : [], current, catalog.discounts, catalog.timeZone)
      const { lines, total } = priceOrder({ items: spec.items!, front, lab, products: catalog.products, discount, currency: catalog.currency })
      reception = this.deps.receptions.record({
        order, user, front: front.id, lab: lab.id, receivedAt, status: 'accepted', error: null,
        lines, total, currency: catalog.currency, discount, storeStamp,
      }, spec.items!.map((item) => item.image))
    }
    await this.deliver(reception)
  }

  private async cancel(order: string): Promise<void> {
    const reception = this.deps.receptions.get(order)
    if (!reception || reception.status !== 'accepted') return
    this.deps.receptions.cancel(order)
    await this.deliver({ ...reception, status: 'cancelled' })
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
