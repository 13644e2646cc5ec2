// The cluster's session check: a customer's token holds when the cluster key's signature on it
// verifies, it has not expired, and its session id is not in this relay's list of sign-outs.
// No database read per request: the list is in memory, loaded at start, added to by the other
// relays' broadcasts, and compared with PostgreSQL after a fan-out gap and every few seconds.
import type { KeyObject } from 'node:crypto'
import { verifyToken, type TokenClaims } from '../../shared/signing.ts'
import type { Fanout, Unsubscribe } from '../../sync-server/fanout/fanout.ts'
import type { AccountStore, Revocation, StoredSession } from '../../storage/account-store.ts'
import { SessionEnds, type SessionCheck } from './session-check.ts'

/** The fan-out channel sign-outs are told on, after their revocation committed. */
export const SIGN_OUT_CHANNEL = 'sign-out'
/** How often the list is compared with the store when nothing was heard to be lost. */
export const CHECK_EVERY_MS = 5_000
/** Revocations read per query when the list is (re)loaded. */
const PAGE = 10_000
/**
 * Tokens whose signature verified, by hash: an Ed25519 check took ~230 µs here, which every
 * request and every socket's re-check would pay. A token's claims never change, so an entry
 * never goes stale; revocation and expiry are checked on every use.
 */
const VERIFIED_MAX = 20_000

export interface RevokedSessionsOptions {
  store: AccountStore
  fanout: Fanout
  /** The cluster's signing key (--signing-key), public half: what every relay's tokens verify with. */
  publicKey: KeyObject
  now: () => number
  /** How often the list is compared with the store (safety net for a broadcast lost without a gap). */
  checkEveryMs?: number
  /** Where a failed re-read is told (default console.error); the next check tries again. */
  log?: (line: string) => void
}

export class RevokedSessions implements SessionCheck {
  /** Session id -> when its token expires: after that the token is refused anyway and the entry goes. */
  private readonly revoked = new Map<string, number>()
  private readonly verified = new Map<string, TokenClaims>()
  private readonly ends = new SessionEnds()
  private reading: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private unlisten: Unsubscribe = () => {}
  private closed = false
  private failing = false

  private constructor(private readonly options: RevokedSessionsOptions) {}

  /** Listens for broadcasts first, then loads the list, so no sign-out falls between the two. */
  static async start(options: RevokedSessionsOptions): Promise<RevokedSessions> {
    const list = new RevokedSessions(options)
    list.unlisten = await options.fanout.on(SIGN_OUT_CHANNEL, (message) => list.heard(message))
    options.fanout.onGap(() => { if (!list.closed) void list.reload() })
    await list.readAll()
    list.timer = setInterval(() => void list.check(), options.checkEveryMs ?? CHECK_EVERY_MS)
    list.timer.unref()
    return list
  }

  session(token: string, hash: string): StoredSession | null {
    const claims = this.claimsOf(token, hash)
    if (!claims || claims.exp <= this.options.now() || this.revoked.has(claims.sid)) return null
    return { userId: claims.sub, expiresAt: claims.exp, sid: claims.sid }
  }

  stillHolds(token: string, hash: string): boolean {
    return this.session(token, hash) !== null
  }

  ended(_hash: string, revocation: Revocation | null): void {
    if (!revocation) return
    this.add(revocation.sid, revocation.expiresAt)
    this.options.fanout.broadcast(SIGN_OUT_CHANNEL, JSON.stringify({ sid: revocation.sid, expiresAt: revocation.expiresAt }))
  }

  onEnd(sid: string, callback: () => void): () => void {
    return this.ends.watch(sid, callback)
  }

  /** Sign-outs in the list now (unexpired ones, once pruned): what tests and the memory bound look at. */
  get size(): number {
    return this.revoked.size
  }

  /** Drops revocations whose tokens expired, then compares the count with the store's; re-reads on a difference. */
  async check(): Promise<void> {
    if (this.closed) return
    this.prune()
    try {
      const inForce = await this.options.store.revocationsInForce(this.options.now())
      // The list only ever holds committed revocations, so equal counts mean equal sets.
      if (inForce !== this.revoked.size) await this.reload()
      this.failing = false
    } catch (error) {
      this.failed(error as Error)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.unlisten()
    await this.reading?.catch(() => {})
  }

  private claimsOf(token: string, hash: string): TokenClaims | null {
    const known = this.verified.get(hash)
    if (known) return known
    const claims = verifyToken(token, this.options.publicKey)
    if (!claims) return null
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!)
    this.verified.set(hash, claims)
    return claims
  }

  /** A broadcast from another relay: `{sid, expiresAt}`, anything else ignored. */
  private heard(message: string): void {
    if (message.length > 256) return
    let parsed: { sid?: unknown; expiresAt?: unknown }
    try { parsed = JSON.parse(message) } catch { return }
    if (typeof parsed?.sid !== 'string' || parsed.sid.length > 64 || typeof parsed.expiresAt !== 'number') return
    this.add(parsed.sid, parsed.expiresAt)
  }

  private add(sid: string, expiresAt: number): void {
    if (expiresAt <= this.options.now() || this.revoked.has(sid)) return
    this.revoked.set(sid, expiresAt)
    this.ends.ended(sid)
  }

  private prune(): void {
    const now = this.options.now()
    for (const [sid, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(sid)
  }

  /** readAll() once at a time; a failure is logged and left to the next check. */
  private async reload(): Promise<void> {
    try {
      await this.readAll()
      this.failing = false
    } catch (error) {
      this.failed(error as Error)
    }
  }

  /**
   * Adds every revocation in force in the store. It never removes one: a revocation is never
   * undone, so a broadcast heard while the pages were read stays in the list.
   */
  private readAll(): Promise<void> {
    this.reading ??= (async () => {
      try {
        let after = 0
        for (;;) {
          const { revocations } = await this.options.store.revocationsAfter(after, this.options.now(), PAGE)
          for (const { sid, expiresAt } of revocations) this.add(sid, expiresAt)
          if (revocations.length < PAGE) return
          after = revocations[revocations.length - 1].seq
        }
      } finally {
        this.reading = null
      }
    })()
    return this.reading
  }

  /** Told once per run of failures, not every few seconds while PostgreSQL is away. */
  private failed(error: Error): void {
    if (this.failing || this.closed) return
    this.failing = true
    ;(this.options.log ?? console.error)(`relay: reading sign-outs from the store failed (${error.message}); tokens are checked against the list as last read until it answers`)
  }
}
