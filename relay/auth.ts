// Turns a bearer token into who is asking: an admin token or a lab key from the config, or a
// customer's session. One place, used by HTTP and sync alike; synchronous, with no database read
// in cluster mode (SessionCheck).
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { RelayConfig } from './config.ts'
import { tokenDigest } from './store/accounts.ts'
import type { SessionCheck } from './store/session-check.ts'
import type { Session } from '../sync-server/connection.ts'
import { bearerToken } from '../sync-server/respond.ts'

export { bearerToken }

export class Authenticator {
  /** The config's admin tokens and lab keys, as the sha256 digests tokens are compared with. */
  private readonly keys: Array<{ hash: Buffer; principal: Session['principal'] }>
  private readonly sessions: SessionCheck
  /** The session id of each customer's Session handed out, for onSignOut(). */
  private readonly sids = new WeakMap<Session, string>()

  constructor(
    config: RelayConfig,
    accounts: { sessions: SessionCheck },
    private readonly now: () => number = Date.now,
  ) {
    this.sessions = accounts.sessions
    this.keys = [
      ...config.admins.map((admin) => ({ hash: Buffer.from(admin.tokenHash, 'hex'), principal: { kind: 'admin' as const, name: admin.name } })),
      ...config.labs.map((lab) => ({ hash: Buffer.from(lab.keyHash, 'hex'), principal: { kind: 'lab' as const, labId: lab.id } })),
    ]
  }

  /** Who holds this token, or null for none, unknown or expired. The token is hashed once. */
  authenticate(token: string | null | undefined): Session | null {
    if (!token || token.length > 512) return null
    const hash = tokenDigest(token)
    // Every key is compared, in constant time, whichever matches.
    let found: Session['principal'] | null = null
    for (const key of this.keys) if (key.hash.length === hash.length && timingSafeEqual(hash, key.hash) && found === null) found = key.principal
    if (found) return { principal: found, expiresAt: Infinity }
    const stored = this.sessions.session(token, hash.toString('hex'))
    if (!stored) return null
    const session: Session = { principal: { kind: 'user', userId: stored.userId }, expiresAt: stored.expiresAt }
    if (stored.sid) this.sids.set(session, stored.sid)
    return session
  }

  /** Who sent an HTTP request (or WebSocket upgrade), by its bearerToken(). */
  fromRequest(req: IncomingMessage, url: URL): Session | null {
    return this.authenticate(bearerToken(req, url))
  }

  /** Whether a session authenticated earlier still holds: not expired, not signed out. */
  stillValid(session: Session, token: string): boolean {
    if (session.expiresAt <= this.now()) return false
    return session.principal.kind !== 'user' || this.sessions.stillHolds(token, tokenDigest(token).toString('hex'))
  }

  /**
   * Calls `callback` once when this customer's session is signed out, here or on another relay
   * (a socket closes at once instead of at its next message); returns a stop. Nothing for config keys.
   */
  onSignOut(session: Session, callback: () => void): () => void {
    const sid = this.sids.get(session)
    return sid ? this.sessions.onEnd(sid, callback) : () => {}
  }
}
