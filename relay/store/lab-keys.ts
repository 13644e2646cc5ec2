// The Ed25519 public keys lab nodes sign in-store reception stamps with. A lab node registers
// its key over its authenticated link (its lab key as Bearer); a key belongs to one lab forever.
import type { DB } from '../../storage/sqlite/database.ts'
import { keyIdOf, publicKeyOf, type PublicJwk } from '../../shared/signing.ts'
import type { KeyObject } from 'node:crypto'

export interface LabKey { keyId: string; lab: string; publicKey: KeyObject; registeredAt: number }

export class LabKeys {
  private readonly stmt
  private readonly cache = new Map<string, LabKey | null>()

  constructor(db: DB, private readonly now: () => number = Date.now) {
    this.stmt = {
      get: db.prepare<[string], { lab: string; public_key: string; registered_at: number }>('SELECT lab, public_key, registered_at FROM lab_keys WHERE key_id = ?'),
      insert: db.prepare('INSERT OR IGNORE INTO lab_keys (key_id, lab, public_key, registered_at) VALUES (?, ?, ?, ?)'),
    }
  }

  /**
   * Registers `jwk` for `lab`. 'created' or 'known' (the same lab registered it before); 'taken'
   * when another lab did, 'invalid' when it is no Ed25519 public key.
   */
  register(lab: string, jwk: unknown): { outcome: 'created' | 'known' | 'taken' | 'invalid'; keyId?: string } {
    if (!publicKeyOf(jwk)) return { outcome: 'invalid' }
    const clean: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: (jwk as PublicJwk).x }
    const keyId = keyIdOf(clean)
    const inserted = this.stmt.insert.run(keyId, lab, JSON.stringify(clean), this.now()).changes > 0
    this.cache.delete(keyId)
    if (inserted) return { outcome: 'created', keyId }
    return { outcome: this.get(keyId)?.lab === lab ? 'known' : 'taken', keyId }
  }

  get(keyId: string): LabKey | null {
    if (this.cache.has(keyId)) return this.cache.get(keyId)!
    const row = this.stmt.get.get(keyId)
    const key = row ? { keyId, lab: row.lab, publicKey: publicKeyOf(JSON.parse(row.public_key))!, registeredAt: row.registered_at } : null
    if (key) this.cache.set(keyId, key) // unknown ids are not cached: the key may be registered any moment
    return key
  }
}
