// The reception store's face: what order intake asks of the relay's record of received orders,
// asynchronous, so that SQLite (one relay, receptions-sqlite.ts) and PostgreSQL (a cluster,
// receptions-postgres.ts) answer alike; tests/conformance/receptions.ts holds both to it.
import type { PreviousLookup } from '../orders/decide.ts'
import type { NewReception, Reception, Repricing } from './receptions.ts'

/** What a reception is decided from, read inside the store's transaction for that order. */
export interface ReceiveContext {
  /** The reception clock now: `at`, but never before an instant the store already gave (one clock for a cluster). */
  now: Date
  /** When the store first saw this submission (noted now when it had not). */
  firstSeen: Date
  /** The sequence number the reception will get, if recorded now. */
  seq: number
  /** The customer's accepted receptions before a current one, as the discount checker reads them. */
  previous: PreviousLookup
}

/** The judge's answer: record a reception (accepted or refused), or keep waiting for photos. */
export type ReceiveVerdict =
  | { kind: 'record'; reception: NewReception; images: string[] }
  | { kind: 'waiting'; missing: string[]; front: string | null }

export type ReceiveOutcome =
  /** `fresh`: recorded by this call; false when the order had been received already (exactly once). */
  | { kind: 'recorded'; reception: Reception; fresh: boolean }
  | { kind: 'waiting'; missing: string[]; now: Date; firstSeen: Date }

/**
 * Judges a submission (pure, synchronous, and possibly called more than once: it may be run
 * again after the store fetched a read it asked for; only its last answer counts).
 */
export type Judge = (context: ReceiveContext) => ReceiveVerdict

/** The store's part of a delivery: the receipt and queue entry written as they were in `reception`. */
export type DeliveredAs = Pick<Reception, 'order' | 'status' | 'lab' | 'total' | 'discount' | 'frontDiscount'>

export interface ReceptionStore {
  get(order: string): Promise<Reception | null>

  /**
   * A submission seen: remembers when the store first saw it (the reception clock at `at`) and
   * returns that first sight. Durable when the promise resolves.
   */
  awaitingSince(order: string, user: string, at: Date): Promise<Date>

  /**
   * Decides and records one order, atomically per customer: the previous receptions `judge` reads,
   * the clock, the sequence number, the store's order number and the insert are one transaction
   * that no other reception of the same customer interleaves with, on any relay. Exactly once per
   * order: an order already received returns its reception (`fresh: false`), its judge not run.
   * A `waiting` verdict notes the missing photos (and store) for the admin's listing.
   */
  receive(order: string, user: string, at: Date, judge: Judge): Promise<ReceiveOutcome>

  /**
   * The receipt and queue entry are in the documents as `delivered` had them. When the reception
   * changed since (cancelled, repriced, moved), it stays undelivered: its current state is owed.
   */
  markDelivered(delivered: DeliveredAs): Promise<void>

  /**
   * Receptions whose receipt or queue entry may not have reached the documents, oldest first, at
   * most `limit`. With `claimMs`, each returned one is claimed for that long (another relay's call
   * skips it meanwhile), so relays sweeping at once share the work instead of repeating it.
   */
  undelivered(limit: number, claimMs?: number): Promise<Reception[]>

  /**
   * Cancels an accepted order and, in the same transaction, prices again every accepted order that
   * cited it (`reprice`, given the previous receptions as they now stand) and marks them
   * undelivered. Returns the repriced receptions; none when `order` was not accepted. `reprice`
   * may be run more than once (see Judge).
   */
  cancel(order: string, reprice: (citing: Reception, previous: PreviousLookup) => Repricing): Promise<Reception[]>

  /** An accepted order citing `order` whose lab has started printing it, or null (the cancel rule). */
  startedCiting(order: string): Promise<string | null>
  /** Notes how far the order's lab got (progress.status). */
  setProgress(order: string, status: string | null): Promise<void>
  /** Moves an accepted order to another lab: its reception and the photos that lab may fetch. */
  reassign(order: string, lab: string): Promise<void>
  labUsesImage(lab: string, sha256: string): Promise<boolean>

  /** A cancelled submission that was still waiting for its photos is no longer waited for. */
  stopWaiting(order: string): Promise<void>
  /**
   * Orders waiting for photos (of `user`, or all). With `claimMs` (a sweep), at most `limit`, each
   * claimed for that long so relays sweeping at once take different ones.
   */
  waitingOrders(options?: { user?: string; limit?: number; claimMs?: number }): Promise<string[]>
}
