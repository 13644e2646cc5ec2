// Per-customer quotas on a sync endpoint: how much one customer may store in a document, how many sockets one customer may hold at once, and how
// fast they may send, in messages and bytes, over all their sockets (token buckets holding 10 s
// worth). A customer over their rate is slowed, never refused: reading from all their sockets
// pauses until the buckets have refilled. A refused write would poison the device's copy (its
// later writes build on it); a paused socket loses nothing, TCP holds the rest at the sender.
// Only customers (principal kind 'user') are counted: labs and admins are the relay's own.
import type { Principal } from '../shared/rights.ts'
import type { Limits } from '../shared/limits.ts'
import type { Room as RoomName } from '../shared/schema.ts'

export type QuotaLimits = Pick<Limits, 'writesPerSecond' | 'writeBytesPerSecond' | 'socketsPerCustomer'>

/** What a quota needs of a socket (ws's WebSocket has both). */
export interface Pausable {
  pause(): void
  resume(): void
}

/** A bucket holds this many seconds of a customer's rate: bursts such as opening the app pass. */
export const BURST_SECONDS = 10

interface Customer {
  readonly sockets: Set<Pausable>
  /** Tokens left; below 0 after a message that did not fit (it was taken all the same). */
  messages: number
  bytes: number
  /** When the buckets were last refilled, in ms of `now`. */
  at: number
  /** Resumes the customer's sockets once the buckets are back at 0; null while not paused. */
  resumeTimer: NodeJS.Timeout | null
  /** Forgets a customer with no sockets left once their buckets are full again. */
  forgetTimer: NodeJS.Timeout | null
}

export class Quotas {
  private readonly customers = new Map<string, Customer>()

  constructor(private readonly limits: QuotaLimits, private readonly now: () => number = Date.now) {}

  /**
   * Counts a socket just accepted for `principal`; false (and nothing counted) when the customer
   * already holds as many as they may. A socket accepted while its customer is paused starts paused.
   */
  admit(principal: Principal, socket: Pausable): boolean {
    if (principal.kind !== 'user') return true
    const customer = this.customer(principal.userId)
    if (customer.sockets.size >= this.limits.socketsPerCustomer) return false
    customer.sockets.add(socket)
    if (customer.forgetTimer !== null) { clearTimeout(customer.forgetTimer); customer.forgetTimer = null }
    if (customer.resumeTimer !== null) socket.pause()
    return true
  }

  /** A counted socket closed. */
  release(principal: Principal, socket: Pausable): void {
    if (principal.kind !== 'user') return
    const customer = this.customers.get(principal.userId)
    if (!customer || !customer.sockets.delete(socket) || customer.sockets.size > 0) return
    // Kept until the buckets are full again: closing every socket must not reset a customer's rate.
    this.refill(customer)
    const fullInMs = Math.max(
      (this.messageCapacity - customer.messages) / this.limits.writesPerSecond,
      (this.byteCapacity - customer.bytes) / this.limits.writeBytesPerSecond,
    ) * 1000
    customer.forgetTimer = setTimeout(() => {
      if (customer.sockets.size === 0 && this.customers.get(principal.userId) === customer) {
        if (customer.resumeTimer !== null) clearTimeout(customer.resumeTimer)
        this.customers.delete(principal.userId)
      }
    }, Math.ceil(fullInMs))
    customer.forgetTimer.unref()
  }

  /**
   * A message of `bytes` arrived from one of `principal`'s sockets. It is taken whatever the
   * buckets hold; when they run dry, all the customer's sockets stop being read until they are
   * back at 0. (Frames ws has already read from the socket still arrive, and are charged too.)
   */
  charge(principal: Principal, bytes: number): void {
    if (principal.kind !== 'user') return
    const customer = this.customers.get(principal.userId)
    if (!customer) return
    this.refill(customer)
    customer.messages -= 1
    customer.bytes -= bytes
    if (customer.messages < 0 || customer.bytes < 0) this.pauseUntilRefilled(customer)
  }

  /** Whether a customer's sockets are paused now (for tests and logs). */
  paused(userId: string): boolean {
    return (this.customers.get(userId)?.resumeTimer ?? null) !== null
  }

  private get messageCapacity(): number { return this.limits.writesPerSecond * BURST_SECONDS }
  private get byteCapacity(): number { return this.limits.writeBytesPerSecond * BURST_SECONDS }

  private customer(userId: string): Customer {
    let customer = this.customers.get(userId)
    if (!customer) {
      customer = { sockets: new Set(), messages: this.messageCapacity, bytes: this.byteCapacity, at: this.now(), resumeTimer: null, forgetTimer: null }
      this.customers.set(userId, customer)
    }
    return customer
  }

  private refill(customer: Customer): void {
    const now = this.now()
    const seconds = Math.max(0, now - customer.at) / 1000
    customer.at = now
    customer.messages = Math.min(this.messageCapacity, customer.messages + seconds * this.limits.writesPerSecond)
    customer.bytes = Math.min(this.byteCapacity, customer.bytes + seconds * this.limits.writeBytesPerSecond)
  }

  private pauseUntilRefilled(customer: Customer): void {
    const waitMs = Math.max(-customer.messages / this.limits.writesPerSecond, -customer.bytes / this.limits.writeBytesPerSecond, 0) * 1000
    if (customer.resumeTimer !== null) clearTimeout(customer.resumeTimer)
    else for (const socket of customer.sockets) socket.pause()
    customer.resumeTimer = setTimeout(() => {
      customer.resumeTimer = null
      for (const socket of customer.sockets) socket.resume()
    }, Math.ceil(waitMs))
    customer.resumeTimer.unref()
  }
}

/** The most a customer may store in a document of this kind (Infinity: no limit, e.g. lab rooms). */
export function documentLimit(room: RoomName, limits: Pick<Limits, 'orderDocBytes' | 'userDocBytes'> | undefined): number {
  if (!limits) return Infinity
  return room.kind === 'order' ? limits.orderDocBytes : room.kind === 'user' ? limits.userDocBytes : Infinity
}

/** Why a customer's write does not fit its document, in their words. */
export function documentFull(room: RoomName, held: number, adding: number, limit: number): string {
  const sizes = `it holds ${size(held)} of the ${size(limit)} it may hold, and this change adds ${size(adding)}`
  return room.kind === 'order'
    ? `this order is full: ${sizes}; remove something from it or start a new order`
    : `your account is full: ${sizes}; remove drafts you no longer need`
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}
