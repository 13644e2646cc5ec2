// Customer accounts and their sessions. Passwords are kept as scrypt hashes, session tokens
// only as sha256 hashes with an expiry, so a copy of the database signs nobody in. Tokens are
// signed by the relay (shared/signing.ts) so a lab node in a store can check them while the
// relay is out of reach; a sign-out is listed as a revocation for lab nodes to fetch.
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { DB } from '../../storage/sqlite/database.ts'
import { newKeyPair, signToken, type KeyPair } from '../../shared/signing.ts'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
export const SESSION_DAYS = 30

export interface Account { userId: string; email: string; name: string }
export interface StoredSession { userId: string; expiresAt: number }
export interface Revocation { seq: number; sid: string; expiresAt: number }

/** A token's sha256: what is stored of a session, and what config keys are compared with. */
export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token).digest()
export const tokenHash = (token: string): string => tokenDigest(token).toString('hex')

/**
 * Sessions looked up recently are answered from memory for this long. Sign-outs go through this
 * class and drop their entry at once; the time limit only bounds how stale an entry can get.
 * Without it every connect, and every socket's periodic re-check, read SQLite on the event loop,
 * where a read after the writer thread's commits finds its page cache invalid.
 */
const SESSION_CACHE_MS = 30_000
const SESSION_CACHE_MAX = 20_000

export interface AccountsOptions {
  /**
   * Runs each password hash; the relay passes a gate that lets a few run at once (scrypt is on
   * libuv's thread pool, shared with file reads). Runs it directly unless given.
   */
  hashing?: <T>(work: () => Promise<T>) => Promise<T>
}

export class Accounts {
  private readonly stmt
  /** token hash -> a session found in the database, and when. Only found sessions are kept. */
  private readonly recent = new Map<string, { session: StoredSession; checkedAt: number }>()
  private readonly hashing: NonNullable<AccountsOptions['hashing']>

  constructor(
    private readonly db: DB,
    private readonly now: () => number = Date.now,
    private readonly signer: KeyPair = newKeyPair(),
    options: AccountsOptions = {},
  ) {
    this.hashing = options.hashing ?? ((work) => work())
    this.stmt = {
      insert: db.prepare('INSERT INTO accounts (user_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      byEmail: db.prepare<[string], { user_id: string; name: string; password_hash: string }>('SELECT user_id, name, password_hash FROM accounts WHERE email = ?'),
      nameById: db.prepare<[string], { name: string }>('SELECT name FROM accounts WHERE user_id = ?'),
      insertSession: db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at, sid) VALUES (?, ?, ?, ?, ?)'),
      session: db.prepare<[string], { user_id: string; expires_at: number }>('SELECT user_id, expires_at FROM sessions WHERE token_hash = ?'),
      deleteSession: db.prepare<[string], { sid: string | null; expires_at: number }>('DELETE FROM sessions WHERE token_hash = ? RETURNING sid, expires_at'),
      revoke: db.prepare('INSERT INTO revocations (sid, revoked_at, expires_at) VALUES (?, ?, ?)'),
      pruneRevocations: db.prepare('DELETE FROM revocations WHERE expires_at <= ?'),
      revocations: db.prepare<[number, number, number], { seq: number; sid: string; expires_at: number }>(
        'SELECT seq, sid, expires_at FROM revocations WHERE seq > ? AND expires_at > ? ORDER BY seq LIMIT ?'),
      lastRevocation: db.prepare<[], { seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM revocations'),
      deleteExpired: db.prepare('DELETE FROM sessions WHERE user_id = ? AND expires_at < ?'),
    }
  }

  /** Creates an account; null when the email is taken. */
  async create(email: string, password: string, name: string): Promise<Account | null> {
    const normalized = normalizeEmail(email)
    if (this.stmt.byEmail.get(normalized)) return null
    const salt = randomBytes(16)
    const hash = await this.hashPassword(password, salt)
    const userId = randomUUID().replaceAll('-', '')
    try {
      this.stmt.insert.run(userId, normalized, name, `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`, new Date(this.now()).toISOString())
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return null // raced with the same email
      throw error
    }
    return { userId, email: normalized, name }
  }

  /** The account when the password matches; null otherwise (same time either way, roughly). */
  async verify(email: string, password: string): Promise<Account | null> {
    const row = this.stmt.byEmail.get(normalizeEmail(email))
    const [, saltB64, hashB64] = (row?.password_hash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$').split('$')
    const expected = Buffer.from(hashB64, 'base64')
    const actual = await this.hashPassword(password, Buffer.from(saltB64, 'base64'))
    if (!row || expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null
    return { userId: row.user_id, email: normalizeEmail(email), name: row.name }
  }

  /** scrypt, asynchronous (on libuv's thread pool, never the event loop), through the hashing gate. */
  private hashPassword(password: string, salt: Buffer): Promise<Buffer> {
    return this.hashing(() => scryptAsync(password, salt, 32, SCRYPT))
  }

  /** A new bearer token for the user, signed by the relay; only its hash is stored. */
  /** The display name the customer gave at sign-up (receipts carry it for the lab's counter); null for no such account. */
  nameOf(userId: string): string | null {
    return this.stmt.nameById.get(userId)?.name ?? null
  }

  startSession(userId: string): { token: string; expiresAt: number } {
    const now = this.now()
    const expiresAt = now + SESSION_DAYS * 24 * 3600 * 1000
    const sid = randomBytes(16).toString('base64url')
    const token = signToken({ sub: userId, sid, exp: expiresAt }, this.signer)
    this.stmt.deleteExpired.run(userId, now) // a signed-in customer's old sessions go as new ones start
    this.stmt.insertSession.run(tokenHash(token), userId, now, expiresAt, sid)
    return { token, expiresAt }
  }

  session(token: string): StoredSession | null {
    return this.sessionByHash(tokenHash(token))
  }

  /** session() for a token already hashed with tokenHash(). */
  sessionByHash(hash: string): StoredSession | null {
    const now = this.now()
    const recent = this.recent.get(hash)
    if (recent && now - recent.checkedAt < SESSION_CACHE_MS) return recent.session.expiresAt > now ? recent.session : null
    const row = this.stmt.session.get(hash)
    if (!row || row.expires_at <= now) {
      this.recent.delete(hash)
      return null
    }
    const session = { userId: row.user_id, expiresAt: row.expires_at }
    this.recent.delete(hash) // re-inserted last: the oldest entries go first when it is full
    if (this.recent.size >= SESSION_CACHE_MAX) this.recent.delete(this.recent.keys().next().value!)
    this.recent.set(hash, { session, checkedAt: now })
    return session
  }

  /** Signs out: the session goes, and its id is listed for lab nodes until it would have expired. */
  endSession(token: string): void {
    this.recent.delete(tokenHash(token))
    this.db.transaction(() => {
      const ended = this.stmt.deleteSession.get(tokenHash(token))
      if (ended?.sid) this.stmt.revoke.run(ended.sid, this.now(), ended.expires_at)
      this.stmt.pruneRevocations.run(this.now()) // a revocation matters only until its token would have expired
    }).immediate()
  }

  /** Revocations after `seq` that still matter (their token has not expired), oldest first. */
  revocationsAfter(seq: number, limit: number): { revocations: Revocation[]; last: number } {
    const rows = this.stmt.revocations.all(seq, this.now(), limit)
    const last = rows.length === limit ? rows[rows.length - 1].seq : this.stmt.lastRevocation.get()!.seq
    return { revocations: rows.map((r) => ({ seq: r.seq, sid: r.sid, expiresAt: r.expires_at })), last }
  }
}

export const normalizeEmail = (email: string): string => email.trim().toLowerCase()
