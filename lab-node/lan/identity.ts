// Who the in-store server is and whom it believes: its own key for in-store stamps (made on first
// start, registered at the relay by the forwarder), and the relay's public key from the catalog,
// against which customers' session tokens are checked here, offline.
import type { KeyObject } from 'node:crypto'
import type { Catalog } from '../../shared/schema.ts'
import { publicKeyOf, verifyToken, type KeyPair } from '../../shared/signing.ts'
import { loadOrCreateSigningKey } from '../../storage/key-file.ts'
import type { Session } from '../../sync-server/connection.ts'
import type { Room } from '../../sync-server/room.ts'

export const STAMP_KEY_FILE = 'lab-signing-key.pem'

export interface IdentityOptions {
  /** The relay's clock, as measured at the last poll: token expiry is the relay's. */
  relayNow: () => number
  /** Sign-outs fetched from the relay while it was reachable. */
  isRevoked: (sid: string) => boolean
}

export class InStoreIdentity {
  /** Signs in-store stamps; the relay knows its public half once the forwarder registered it. */
  readonly stampKey: KeyPair
  private current: Catalog | null = null
  private relayKey: KeyObject | null = null

  constructor(dir: string, private readonly options: IdentityOptions) {
    this.stampKey = loadOrCreateSigningKey(dir, STAMP_KEY_FILE)
  }

  /** The catalog as last brought down from the relay through the lab's own link, or null before. */
  get catalog(): Catalog | null {
    return this.current
  }

  /** Whether the relay's key is known, without which no customer can be let in. */
  get ready(): boolean {
    return this.relayKey !== null
  }

  /** Takes the catalog room's content (when it has any) as the current catalog and relay key. */
  readCatalog(room: Room): void {
    const map = room.doc.getMap('catalog')
    if (map.size === 0) return
    this.current = map.toJSON() as Catalog
    this.relayKey = publicKeyOf(this.current.relayKey)
  }

  /** A customer's session token, checked offline: the relay's signature, expiry, and sign-outs known here. */
  authenticate(token: string | null | undefined): Session | null {
    if (!token || !this.relayKey) return null
    const claims = verifyToken(token, this.relayKey)
    if (!claims || claims.exp <= this.options.relayNow() || this.options.isRevoked(claims.sid)) return null
    return { principal: { kind: 'user', userId: claims.sub }, expiresAt: claims.exp }
  }
}
