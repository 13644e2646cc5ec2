// The cluster's AccountStore: accounts, sessions and revocations in PostgreSQL (the relay's schema,
// relay-schema.ts), shared by every relay; on the relay's own pool (openRelayPool).
import type pg from 'pg'
import type { AccountRow, AccountStore, Revocation, SessionRow, StoredSession } from '../account-store.ts'
import { inTransaction } from './transaction.ts'

/**
 * Sign-outs take this advisory lock (two-key form: apart from the one-key locks other stores take
 * per customer) before their revocation gets its seq, so seqs commit in order: a lab node that
 * read up to seq N never finds a smaller one committed later.
 */
const REVOCATION_LOCK = [0x6c73, 1]

export class PgAccountStore implements AccountStore {
  constructor(private readonly pool: pg.Pool) {}

  async insertAccount(row: AccountRow): Promise<'created' | 'taken'> {
    // Two relays signing up one email at once: the unique index decides, one row goes in.
    const { rowCount } = await this.pool.query(
      `INSERT INTO accounts (user_id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email) DO NOTHING`,
      [row.userId, row.email, row.name, row.passwordHash, row.createdAt])
    return rowCount === 1 ? 'created' : 'taken'
  }

  async byEmail(email: string): Promise<{ userId: string; name: string; passwordHash: string } | null> {
    const { rows } = await this.pool.query<{ user_id: string; name: string; password_hash: string }>(
      'SELECT user_id, name, password_hash FROM accounts WHERE email = $1', [email])
    return rows[0] ? { userId: rows[0].user_id, name: rows[0].name, passwordHash: rows[0].password_hash } : null
  }

  async nameOf(userId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT name FROM accounts WHERE user_id = $1', [userId])
    return rows[0]?.name ?? null
  }

  async insertSession(row: SessionRow, now: number): Promise<void> {
    // One statement, so one transaction: the user's expired sessions go as the new one comes.
    await this.pool.query(
      `WITH expired AS (DELETE FROM sessions WHERE user_id = $2 AND expires_at < $6)
       INSERT INTO sessions (token_hash, user_id, created_at, expires_at, sid) VALUES ($1, $2, $3, $4, $5)`,
      [row.tokenHash, row.userId, row.createdAt, row.expiresAt, row.sid, now])
  }

  async session(tokenHash: string, now: number): Promise<StoredSession | null> {
    const { rows } = await this.pool.query<{ user_id: string; expires_at: number; sid: string | null }>(
      'SELECT user_id, expires_at, sid FROM sessions WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now])
    return rows[0] ? { userId: rows[0].user_id, expiresAt: Number(rows[0].expires_at), sid: rows[0].sid } : null
  }

  async endSession(tokenHash: string, now: number): Promise<Revocation | null> {
    return await inTransaction(this.pool, async (client) => {
      const ended = await client.query<{ sid: string | null; expires_at: number }>(
        'DELETE FROM sessions WHERE token_hash = $1 RETURNING sid, expires_at', [tokenHash])
      const session = ended.rows[0]
      let revocation: Revocation | null = null
      if (session?.sid) {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', REVOCATION_LOCK)
        const { rows } = await client.query<{ seq: number }>(
          'INSERT INTO revocations (sid, revoked_at, expires_at) VALUES ($1, $2, $3) RETURNING seq', [session.sid, now, session.expires_at])
        revocation = { seq: Number(rows[0].seq), sid: session.sid, expiresAt: Number(session.expires_at) }
      }
      // A revocation matters only until its token would have expired. The newest row stays, as
      // in SQLite, so `last` never goes back to 0 for a lab node.
      await client.query('DELETE FROM revocations WHERE expires_at <= $1 AND seq < (SELECT max(seq) FROM revocations)', [now])
      return revocation
    })
  }

  async revocationsAfter(seq: number, now: number, limit: number): Promise<{ revocations: Revocation[]; last: number }> {
    // The latest seq first, then rows up to it: every seq below a committed one is committed
    // (REVOCATION_LOCK), so the page read after it misses none of them.
    const latest = await this.pool.query<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM revocations')
    const newest = Number(latest.rows[0].seq)
    const { rows } = await this.pool.query<{ seq: number; sid: string; expires_at: number }>(
      'SELECT seq, sid, expires_at FROM revocations WHERE seq > $1 AND seq <= $2 AND expires_at > $3 ORDER BY seq LIMIT $4',
      [seq, newest, now, limit])
    const revocations = rows.map((r) => ({ seq: Number(r.seq), sid: r.sid, expiresAt: Number(r.expires_at) }))
    return { revocations, last: rows.length === limit ? revocations[revocations.length - 1].seq : newest }
  }

  async revocationsInForce(now: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM revocations WHERE expires_at > $1', [now])
    return Number(rows[0].n)
  }
}
