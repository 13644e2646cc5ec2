// Where accounts, sessions and revocations are kept: the interface the SQLite store (embedded)
// and the PostgreSQL store (cluster) both honour, each promise checked by
// tests/conformance/accounts.ts. Passwords are hashed and tokens signed above it (accounts.ts):
// a store sees only hashes.

export interface Account { userId: string; email: string; name: string }
export interface StoredSession { userId: string; expiresAt: number; sid: string | null }
export interface Revocation { seq: number; sid: string; expiresAt: number }

/** A new account's row; `email` already normalized. */
export interface AccountRow { userId: string; email: string; name: string; passwordHash: string; createdAt: string }
/** A new session's row; only the token's sha256 (hex) is kept. */
export interface SessionRow { tokenHash: string; userId: string; sid: string; createdAt: number; expiresAt: number }

export interface AccountStore {
  /**
   * Inserts the account, durably once resolved. 'taken' when the email has an account already,
   * also one another relay is inserting at this very moment: of two at once, exactly one is
   * 'created'.
   */
  insertAccount(row: AccountRow): Promise<'created' | 'taken'>
  /** The account with this (normalized) email and its password hash, or null. */
  byEmail(email: string): Promise<{ userId: string; name: string; passwordHash: string } | null>
  /** The display name of the account, or null for no such account. */
  nameOf(userId: string): Promise<string | null>
  /** Stores a session, durably once resolved; the user's sessions expired by `now` go in the same write. */
  insertSession(row: SessionRow, now: number): Promise<void>
  /** The session of a token hash, unless it is unknown or expired by `now`. */
  session(tokenHash: string, now: number): Promise<StoredSession | null>
  /**
   * Signs out: deletes the session and lists its sid as revoked until the session would have
   * expired, in one transaction, committed when it resolves. The revocation, or null when there
   * was no such session (or it had no sid). Revocations expired by `now` are pruned.
   * Sequence numbers grow in commit order, so a reader paging with revocationsAfter() never
   * skips one committed after its page was read.
   */
  endSession(tokenHash: string, now: number): Promise<Revocation | null>
  /**
   * Revocations after `seq` still in force at `now`, oldest first, at most `limit`; `last` is the
   * seq to ask after next time (the last row's when the page is full, else the latest there is).
   */
  revocationsAfter(seq: number, now: number, limit: number): Promise<{ revocations: Revocation[]; last: number }>
  /** How many revocations are in force at `now`: what a relay compares its in-memory list with. */
  revocationsInForce(now: number): Promise<number>
}
