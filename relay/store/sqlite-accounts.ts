// Accounts, sessions and revocations in the relay's SQLite file (one machine): the AccountStore
// over today's synchronous statements, and the synchronous session look-up every request makes.
import type { DB } from '../../storage/sqlite/database.ts'
import type { AccountRow, AccountStore, Revocation, SessionRow, StoredSession } from '../../storage/account-store.ts'
import { SessionEnds, type SessionCheck } from './session-check.ts'

export class SqliteAccountStore implements AccountStore {
  private readonly stmt

  constructor(private readonly db: DB) {
    this.stmt = {
      insert: db.prepare('INSERT INTO accounts (user_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      byEmail: db.prepare<[string], { user_id: string; name: string; password_hash: string }>('SELECT user_id, name, password_hash FROM accounts WHERE email = ?'),
      nameById: db.prepare<[string], { name: string }>('SELECT name FROM accounts WHERE user_id = ?'),
      insertSession: db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at, sid) VALUES (?, ?, ?, ?, ?)'),
      session: db.prepare<[string], { user_id: string; expires_at: number; sid: string | null }>('SELECT user_id, expires_at, sid FROM sessions WHERE token_hash = ?'),
      deleteSession: db.prepare<[string], { sid: string | null; expires_at: number }>('DELETE FROM sessions WHERE token_hash = ? RETURNING sid, expires_at'),
      revoke: db.prepare<[string, number, number], { seq: number }>('INSERT INTO revocations (sid, revoked_at, expires_at) VALUES (?, ?, ?) RETURNING seq'),
      // The newest row stays whatever its expiry: seq is a rowid here, and without it the next
      // revocation would reuse numbers a lab node already read past.
      pruneRevocations: db.prepare('DELETE FROM revocations WHERE expires_at <= ? AND seq < (SELECT max(seq) FROM revocations)'),
      revocations: db.prepare<[number, number, number], { seq: number; sid: string; expires_at: number }>(
        'SELECT seq, sid, expires_at FROM revocations WHERE seq > ? AND expires_at > ? ORDER BY seq LIMIT ?'),
      lastRevocation: db.prepare<[], { seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM revocations'),
      inForce: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM revocations WHERE expires_at > ?'),
      deleteExpired: db.prepare('DELETE FROM sessions WHERE user_id = ? AND expires_at < ?'),
    }
  }

  async insertAccount(row: AccountRow): Promise<'created' | 'taken'> {
    try {
      this.stmt.insert.run(row.userId, row.email, row.name, row.passwordHash, row.createdAt)
      return 'created'
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'taken'
      throw error
    }
  }

  async byEmail(email: string): Promise<{ userId: string; name: string; passwordHash: string } | null> {
    const row = this.stmt.byEmail.get(email)
    return row ? { userId: row.user_id, name: row.name, passwordHash: row.password_hash } : null
  }

  async nameOf(userId: string): Promise<string | null> {
    return this.nameNow(userId)
  }

  /** nameOf(), synchronously. */
  nameNow(userId: string): string | null {
    return this.stmt.nameById.get(userId)?.name ?? null
  }

  async insertSession(row: SessionRow, now: number): Promise<void> {
    this.db.transaction(() => {
      this.stmt.deleteExpired.run(row.userId, now) // a signed-in customer's old sessions go as new ones start
      this.stmt.insertSession.run(row.tokenHash, row.userId, row.createdAt, row.expiresAt, row.sid)
    }).immediate()
  }

  async session(tokenHash: string, now: number): Promise<StoredSession | null> {
    return this.sessionNow(tokenHash, now)
  }

  /** session(), synchronously: what the embedded relay's every request asks (through SqliteSessions). */
  sessionNow(tokenHash: string, now: number): StoredSession | null {
    const row = this.stmt.session.get(tokenHash)
    return row && row.expires_at > now ? { userId: row.user_id, expiresAt: row.expires_at, sid: row.sid } : null
  }

  async endSession(tokenHash: string, now: number): Promise<Revocation | null> {
    return this.db.transaction((): Revocation | null => {
      const ended = this.stmt.deleteSession.get(tokenHash)
      const seq = ended?.sid ? this.stmt.revoke.get(ended.sid, now, ended.expires_at)!.seq : null
      this.stmt.pruneRevocations.run(now) // a revocation matters only until its token would have expired
      return seq === null ? null : { seq, sid: ended!.sid!, expiresAt: ended!.expires_at }
    }).immediate()
  }

  async revocationsAfter(seq: number, now: number, limit: number): Promise<{ revocations: Revocation[]; last: number }> {
    const rows = this.stmt.revocations.all(seq, now, limit)
    const last = rows.length === limit ? rows[rows.length - 1].seq : this.stmt.lastRevocation.get()!.seq
    return { revocations: rows.map((r) => ({ seq: r.seq, sid: r.sid, expiresAt: r.expires_at })), last }
  }

  async revocationsInForce(now: number): Promise<number> {
    return this.stmt.inForce.get(now)!.n
  }
}

/**
 * Sessions looked up recently are answered from memory for this long. Sign-outs on this relay
 * drop their entry at once (ended()); the time limit only bounds how stale an entry can get.
 * Without it every connect, and every socket's periodic re-check, read SQLite on the event loop,
 * where a read after the writer thread's commits finds its page cache invalid.
 */
const SESSION_CACHE_MS = 30_000
const SESSION_CACHE_MAX = 20_000

/** The embedded relay's session check: the session's row, read synchronously, cached a while. */
export class SqliteSessions implements SessionCheck {
  /** token hash -> a session found in the database, and when. Only found sessions are kept. */
  private readonly recent = new Map<string, { session: StoredSession; checkedAt: number }>()
  private readonly ends = new SessionEnds()

  constructor(private readonly store: SqliteAccountStore, private readonly now: () => number = Date.now) {}

  session(_token: string, hash: string): StoredSession | null {
    const now = this.now()
    const recent = this.recent.get(hash)
    if (recent && now - recent.checkedAt < SESSION_CACHE_MS) return recent.session.expiresAt > now ? recent.session : null
    const session = this.store.sessionNow(hash, now)
    this.recent.delete(hash) // re-inserted last: the oldest entries go first when it is full
    if (!session) return null
    if (this.recent.size >= SESSION_CACHE_MAX) this.recent.delete(this.recent.keys().next().value!)
    this.recent.set(hash, { session, checkedAt: now })
    return session
  }

  stillHolds(token: string, hash: string): boolean {
    return this.session(token, hash) !== null
  }

  ended(hash: string, revocation: Revocation | null): void {
    this.recent.delete(hash)
    if (revocation) this.ends.ended(revocation.sid)
  }

  onEnd(sid: string, callback: () => void): () => void {
    return this.ends.watch(sid, callback)
  }

  async close(): Promise<void> {}
}
