// Lab keys in PostgreSQL (cluster mode): one lab_keys table for every relay, so a key a lab node
// registered through one relay verifies its stamps on all of them.
import type pg from 'pg'
import type { LabKeyRow, LabKeyRows } from './lab-keys.ts'

export class PgLabKeyRows implements LabKeyRows {
  constructor(private readonly pool: pg.Pool) {}

  /** ON CONFLICT DO NOTHING: a second relay inserting the same id at once waits for the first, then stores nothing. */
  async insert(keyId: string, row: LabKeyRow): Promise<boolean> {
    const result = await this.pool.query(
      'INSERT INTO lab_keys (key_id, lab, public_key, registered_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING',
      [keyId, row.lab, JSON.stringify(row.publicKey), row.registeredAt])
    return result.rowCount === 1
  }

  async find(keyId: string): Promise<LabKeyRow | null> {
    const { rows } = await this.pool.query<{ lab: string; public_key: LabKeyRow['publicKey']; registered_at: number }>(
      'SELECT lab, public_key, registered_at FROM lab_keys WHERE key_id = $1', [keyId])
    return rows[0] ? { lab: rows[0].lab, publicKey: rows[0].public_key, registeredAt: rows[0].registered_at } : null
  }
}
