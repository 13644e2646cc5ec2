// How the relay answers "does this customer's token hold?" on every request and sync connect:
// synchronously, from memory or (one machine) a cached SQLite read, never a network round trip.
// Two implementations: SqliteSessions (sqlite-accounts.ts) and RevokedSessions (revoked-sessions.ts).
import type { Revocation, StoredSession } from '../../storage/account-store.ts'

export interface SessionCheck {
  /** The session of a customer's token (`hash`: its sha256, hex), or null: unknown, expired or signed out. */
  session(token: string, hash: string): StoredSession | null
  /** Whether a token that held at connect still does (sockets re-ask every few seconds). */
  stillHolds(token: string, hash: string): boolean
  /**
   * Told by Accounts once a sign-out on this relay committed (`revocation` null when the token
   * had no session): refused from now on here, and told to the other relays if there are any.
   */
  ended(hash: string, revocation: Revocation | null): void
  /** Calls `callback` once when session `sid` is signed out, on this relay or another; returns a stop. */
  onEnd(sid: string, callback: () => void): () => void
  close(): Promise<void>
}

/**
 * Who wants to hear of which session's end: the sockets open on it, so a sign-out closes them at
 * once rather than at their next message. Entries go when their socket closes.
 */
export class SessionEnds {
  private readonly watchers = new Map<string, Set<() => void>>()

  watch(sid: string, callback: () => void): () => void {
    let set = this.watchers.get(sid)
    if (!set) this.watchers.set(sid, set = new Set())
    set.add(callback)
    return () => {
      set.delete(callback)
      if (set.size === 0 && this.watchers.get(sid) === set) this.watchers.delete(sid)
    }
  }

  ended(sid: string): void {
    const set = this.watchers.get(sid)
    if (!set) return
    this.watchers.delete(sid)
    for (const callback of set) callback()
  }
}
