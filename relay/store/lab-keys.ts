// The Ed25519 public keys lab nodes sign in-store reception stamps with. A lab node registers
// its key over its authenticated link (its lab key as Bearer); a key belongs to one lab forever.
// LabKeys holds the rules; where the rows live is a LabKeyRows: SQLite here, PostgreSQL in
// lab-keys-postgres.ts (shared by every relay of a cluster).
import type { DB } from '../../storage/sqlite/database.ts'
import { keyIdOf, publicKeyOf, type PublicJwk } from '../../shared/signing.ts'
import type { KeyObject } from 'node:crypto'

export interface LabKey { keyId: string; lab: string; publicKey: KeyObject; registeredAt: number }

export type Registration = { outcome: 'created' | 'known' | 'taken' | 'invalid'; keyId?: string }

/** A registered key as stored: the JWK as registered (only kty, crv, x). */
export interface LabKeyRow { lab: string; publicKey: PublicJwk; registeredAt: number }

/** Where lab keys are kept. Each promise resolves once the statement is durable (or read). */
export interface LabKeyRows {
  /**
   * Stores the key unless `keyId` is stored already (whoever stored it, on whichever relay):
   * true when this call stored it. Two relays inserting one id at once store it once.
   */
  insert(keyId: string, row: LabKeyRow): Promise<boolean>
  /** The stored key, or null. */
  find(keyId: string): Promise<LabKeyRow | null>
}

export class LabKeys {
  /**
   * Keys already read. A key belongs to one lab forever and is never removed, so a known key
   * never goes stale on any relay; unknown ids are not cached: the key may be registered (on this
   * relay or another) any moment. Bounded by the keys registered, a handful per lab.
   */
  private readonly cache = new Map<string, LabKey>()

  constructor(private readonly rows: LabKeyRows, private readonly now: () => number = Date.now) {}

  /**
   * Registers `jwk` for `lab`. 'created' or 'known' (the same lab registered it before); 'taken'
   * when another lab did, 'invalid' when it is no Ed25519 public key.
   */
  async register(lab: string, jwk: unknown): Promise<Registration> {
    if (!publicKeyOf(jwk)) return { outcome: 'invalid' }
    const clean: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: (jwk as PublicJwk).x }
    const keyId = keyIdOf(clean)
    if (await this.rows.insert(keyId, { lab, publicKey: clean, registeredAt: this.now() })) return { outcome: 'created', keyId }
    return { outcome: (await this.get(keyId))?.lab === lab ? 'known' : 'taken', keyId }
  }

  /** The key registered under `keyId`, by any relay; null when none is (yet). */
  async get(keyId: string): Promise<LabKey | null> {
    const cached = this.cache.get(keyId)
    if (cached) return cached
    const row = await this.rows.find(keyId)
    if (!row) return null
    const key = { keyId, lab: row.lab, publicKey: publicKeyOf(row.publicKey)!, registeredAt: row.registeredAt }
    this.cache.set(keyId, key)
    return key
  }
}

/** The embedded default: lab_keys in the relay's SQLite file (synchronous statements, wrapped). */
export class SqliteLabKeyRows implements LabKeyRows {
  private readonly stmt

  constructor(db: DB) {
    this.stmt = {
      find: db.prepare<[string], { lab: string; public_key: string; registered_at: number }>('SELECT lab, public_key, registered_at FROM lab_keys WHERE key_id = ?'),
      insert: db.prepare('INSERT OR IGNORE INTO lab_keys (key_id, lab, public_key, registered_at) VALUES (?, ?, ?, ?)'),
    }
  }

  async insert(keyId: string, row: LabKeyRow): Promise<boolean> {
    return this.stmt.insert.run(keyId, row.lab, JSON.stringify(row.publicKey), row.registeredAt).changes > 0
  }

  async find(keyId: string): Promise<LabKeyRow | null> {
    const row = this.stmt.find.get(keyId)
    return row ? { lab: row.lab, publicKey: JSON.parse(row.public_key), registeredAt: row.registered_at } : null
  }
}
