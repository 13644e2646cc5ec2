// Lab presence in PostgreSQL (cluster mode): one lab_presence row per lab for every relay, so the
// admin asking any relay learns what the relay the lab node talks to has heard.
import type pg from 'pg'
import { pgTexts } from './pg-text.ts'
import { DEFAULT_INTERVAL_MS, type PresenceRow, type PresenceRows } from './lab-presence.ts'

export class PgPresenceRows implements PresenceRows {
  readonly shared = true

  constructor(private readonly pool: pg.Pool) {}

  async get(lab: string): Promise<PresenceRow | null> {
    const { rows } = await this.pool.query<{ last_seen: number; interval_ms: number; printers: PresenceRow['printers'] }>(
      'SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = $1', [lab])
    return rows[0] ? { lastSeen: rows[0].last_seen, intervalMs: rows[0].interval_ms, printers: rows[0].printers } : null
  }

  /** A relay the lab has left may write late: its interval and printers never replace a later relay's. */
  async put(lab: string, row: PresenceRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO lab_presence AS p (lab, last_seen, interval_ms, printers) VALUES ($1, $2, $3, $4)
       ON CONFLICT (lab) DO UPDATE SET last_seen = greatest(p.last_seen, excluded.last_seen),
         interval_ms = CASE WHEN excluded.last_seen >= p.last_seen THEN excluded.interval_ms ELSE p.interval_ms END,
         printers = CASE WHEN excluded.last_seen >= p.last_seen THEN excluded.printers ELSE p.printers END`,
      [lab, row.lastSeen, row.intervalMs, JSON.stringify(pgTexts(row.printers))])
  }

  async touch(lab: string, lastSeen: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO lab_presence AS p (lab, last_seen, interval_ms) VALUES ($1, $2, $3)
       ON CONFLICT (lab) DO UPDATE SET last_seen = greatest(p.last_seen, excluded.last_seen)`,
      [lab, lastSeen, DEFAULT_INTERVAL_MS])
  }
}
