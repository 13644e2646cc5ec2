// Turns a bearer token into who is asking: an admin token or a lab key from the config, or a
// customer's session. One place, used by HTTP and sync alike.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { RelayConfig } from './config.ts'
import { tokenHash, type Accounts } from './store/accounts.ts'
import type { Session } from './sync/connection.ts'

export class Authenticator {
  constructor(
    private readonly config: RelayConfig,
    private readonly accounts: Accounts,
    private readonly now: () => number = Date.now,
  ) {}

  /** Who holds this token, or null for none, unknown or expired. */
  authenticate(token: string | null | undefined): Session | null {
    if (!token || token.length > 512) return null
    const hash = Buffer.from(tokenHash(token), 'hex')
    for (const admin of this.config.admins) {
      if (timingSafeEqual(hash, Buffer.from(admin.tokenHash, 'hex'))) return { principal: { kind: 'admin', name: admin.name }, expiresAt: Infinity }
    }
    for (const lab of this.config.labs) {
      if (timingSafeEqual(hash, Buffer.from(lab.keyHash, 'hex'))) return { principal: { kind: 'lab', labId: lab.id }, expiresAt: Infinity }
    }
    const session = this.accounts.session(token)
    return session ? { principal: { kind: 'user', userId: session.userId }, expiresAt: session.expiresAt } : null
  }

  /** Who sent an HTTP request (or WebSocket upgrade), by its bearerToken(). */
  fromRequest(req: IncomingMessage, url: URL): Session | null {
    return this.authenticate(bearerToken(req, url))
  }

  /** Whether a session authenticated earlier still holds: not expired, not signed out. */
  stillValid(session: Session, token: string): boolean {
    if (session.expiresAt <= this.now()) return false
    return session.principal.kind !== 'user' || this.accounts.session(token) !== null
  }
}

/** The token of an HTTP request: `Authorization: Bearer …`, else `?token=`. */
export function bearerToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization
  return (header && /^Bearer\s+(.+)$/i.exec(header)?.[1]) || url.searchParams.get('token')
}
