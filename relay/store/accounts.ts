// Customer accounts and their sessions. Passwords are kept as scrypt hashes, session tokens
// only as sha256 hashes with an expiry, so a copy of the database signs nobody in. Tokens are
// signed by the relay (shared/signing.ts) so a lab node in a store, or another relay of the
// cluster, can check them without asking; a sign-out is listed as a revocation for them to fetch.
// Rows live in an AccountStore (SQLite or PostgreSQL); the hot path of checking a token is the
// SessionCheck's, synchronous.
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { DB } from '../../storage/sqlite/database.ts'
import { newKeyPair, signToken, type KeyPair } from '../../shared/signing.ts'
import type { Account, AccountStore, Revocation } from '../../storage/account-store.ts'
import type { SessionCheck } from './session-check.ts'
import { SqliteAccountStore, SqliteSessions } from './sqlite-accounts.ts'

export type { Account, Revocation, StoredSession } from '../../storage/account-store.ts'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
export const SESSION_DAYS = 30

/** A token's sha256: what is stored of a session, and what config keys are compared with. */
export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token).digest()
export const tokenHash = (token: string): string => tokenDigest(token).toString('hex')

export interface AccountsOptions {
  /**
   * Runs each password hash; the relay passes a gate that lets a few run at once (scrypt is on
   * libuv's thread pool, shared with file reads). Runs it directly unless given.
   */
  hashing?: <T>(work: () => Promise<T>) => Promise<T>
}

export class Accounts {
  private readonly hashing: NonNullable<AccountsOptions['hashing']>

  constructor(
    private readonly store: AccountStore,
    /** Answers whether a token holds (Authenticator asks it); told of each sign-out here. */
    readonly sessions: SessionCheck,
    private readonly now: () => number = Date.now,
    private readonly signer: KeyPair = newKeyPair(),
    options: AccountsOptions = {},
  ) {
    this.hashing = options.hashing ?? ((work) => work())
  }

  /** Creates an account; null when the email is taken (also by a sign-up at this moment on another relay). */
  async create(email: string, password: string, name: string): Promise<Account | null> {
    const normalized = normalizeEmail(email)
    if (await this.store.byEmail(normalized)) return null
    const salt = randomBytes(16)
    const hash = await this.hashPassword(password, salt)
    const userId = randomUUID().replaceAll('-', '')
    const passwordHash = `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`
    const outcome = await this.store.insertAccount({ userId, email: normalized, name, passwordHash, createdAt: new Date(this.now()).toISOString() })
    return outcome === 'created' ? { userId, email: normalized, name } : null
  }

  /** The account when the password matches; null otherwise (same time either way, roughly). */
  async verify(email: string, password: string): Promise<Account | null> {
    const row = await this.store.byEmail(normalizeEmail(email))
    const [, saltB64, hashB64] = (row?.passwordHash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$').split('$')
    const expected = Buffer.from(hashB64, 'base64')
    const actual = await this.hashPassword(password, Buffer.from(saltB64, 'base64'))
    if (!row || expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null
    return { userId: row.userId, email: normalizeEmail(email), name: row.name }
  }

  /** scrypt, asynchronous (on libuv's thread pool, never the event loop), through the hashing gate. */
  private hashPassword(password: string, salt: Buffer): Promise<Buffer> {
    return this.hashing(() => scryptAsync(password, salt, 32, SCRYPT))
  }

  /** The display name the customer gave at sign-up (receipts carry it for the lab's counter); null for no such account. */
  nameOf(userId: string): Promise<string | null> {
    return this.store.nameOf(userId)
  }

  /** A new bearer token for the user, signed by the relay; only its hash is stored. */
  async startSession(userId: string): Promise<{ token: string; expiresAt: number }> {
    const now = this.now()
    const expiresAt = now + SESSION_DAYS * 24 * 3600 * 1000
    const sid = randomBytes(16).toString('base64url')
    const token = signToken({ sub: userId, sid, exp: expiresAt }, this.signer)
    await this.store.insertSession({ tokenHash: tokenHash(token), userId, sid, createdAt: now, expiresAt }, now)
    return { token, expiresAt }
  }

  /**
   * Signs out: the session goes, and its id is listed for lab nodes and other relays until it
   * would have expired. Refused here once this resolves; on other relays as soon as they hear.
   */
  async endSession(token: string): Promise<void> {
    const hash = tokenHash(token)
    const revocation = await this.store.endSession(hash, this.now())
    this.sessions.ended(hash, revocation) // only once committed: what others are told must hold
  }

  /** Revocations after `seq` that still matter (their token has not expired), oldest first. */
  revocationsAfter(seq: number, limit: number): Promise<{ revocations: Revocation[]; last: number }> {
    return this.store.revocationsAfter(seq, this.now(), limit)
  }
}

/** Accounts in the relay's SQLite file, sessions checked against it: the embedded relay's. */
export function sqliteAccounts(db: DB, now: () => number = Date.now, signer?: KeyPair, options: AccountsOptions = {}): Accounts {
  const store = new SqliteAccountStore(db)
  return new Accounts(store, new SqliteSessions(store, now), now, signer, options)
}

export const normalizeEmail = (email: string): string => email.trim().toLowerCase()
