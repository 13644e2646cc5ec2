// Sign-in and sign-up under limits: attempts per address per minute, failed sign-ins per account
// with a back-off that grows with each further failure, and password hashing a few at a time.
// Without them one client guessed 66 passwords a second, and a flood of anonymous sign-ins
// filled libuv's thread pool with scrypt, so another customer's photo waited seconds for a file read.
import { HttpError } from '../../shared/errors.ts'
import type { Limits } from '../../shared/limits.ts'

const MINUTE = 60_000
/** Failures of an account are counted over this window (limits.signInFailuresPerAccount). */
export const FAILURE_WINDOW_MS = 15 * MINUTE
/** The first lock once an account has failed too often; each further failure doubles it. */
const FIRST_LOCK_MS = 1_000
/** No lock is longer: the account's owner is locked out too, and must get in eventually. */
const LONGEST_LOCK_MS = 15 * MINUTE
/** Entries kept at most per table; the oldest go first (an attacker's spread costs them no memory). */
const MAX_ENTRIES = 100_000
/** Hashes waiting for a slot, per slot; past it sign-ins answer 503 at once instead of queueing. */
const QUEUE_PER_SLOT = 16

/** Attempts per address in fixed one-minute windows (sign-ins; the public price list counts its own). */
export class AddressWindow {
  private readonly seen = new Map<string, { start: number; count: number }>()
  constructor(private readonly perMinute: number, private readonly now: () => number, private readonly what = 'sign-in attempts') {}

  /** Counts an attempt; 429 with Retry-After once the address has used its minute. */
  take(address: string): void {
    const now = this.now()
    let entry = this.seen.get(address)
    if (!entry || now - entry.start >= MINUTE) {
      this.seen.delete(address) // re-inserted last: insertion order is start order
      entry = { start: now, count: 0 }
      this.seen.set(address, entry)
      this.prune(now)
    }
    if (entry.count >= this.perMinute) {
      throw new HttpError(429, `too many ${this.what} from this address; try again in a minute`, (entry.start + MINUTE - now) / 1000)
    }
    entry.count++
  }

  /** Drops finished windows from the front (oldest first), and the oldest when over MAX_ENTRIES. */
  private prune(now: number): void {
    for (const [address, entry] of this.seen) {
      if (now - entry.start < MINUTE && this.seen.size <= MAX_ENTRIES) break
      this.seen.delete(address)
    }
  }
}

interface Failures { count: number; firstAt: number; lastAt: number; lockedUntil: number; checking: number }

/** Failed sign-ins per account (by normalized email, existing or not, so a lock reveals nothing). */
class AccountFailures {
  private readonly failures = new Map<string, Failures>()
  constructor(private readonly allowed: number, private readonly now: () => number) {}

  /**
   * Checks a password with `verify` unless the account is locked (429 with Retry-After; the
   * password is not even checked then), and counts the outcome. Guesses checked at once count
   * as failures in advance, so a burst of concurrent guesses gets no more than the allowed number.
   */
  async attempt<T>(account: string, verify: () => Promise<T | null>): Promise<T | null> {
    const now = this.now()
    const entry = this.current(account)
    if (entry && entry.lockedUntil > now) {
      throw new HttpError(429, 'too many failed sign-ins for this account; try again later', (entry.lockedUntil - now) / 1000)
    }
    // Below the limit, as many at once as failures are left; past it, one at a time.
    const room = entry ? (entry.count >= this.allowed ? 1 : this.allowed - entry.count) : this.allowed
    if (entry && entry.checking >= room) throw new HttpError(429, 'too many sign-ins for this account at once; try again later', 1)
    const checking = entry ?? this.remember(account, { count: 0, firstAt: now, lastAt: now, lockedUntil: 0, checking: 0 })
    checking.checking++
    let result: T | null | undefined
    try {
      result = await verify()
    } finally {
      checking.checking--
      if (result === null) this.failed(account, checking)
      else if (result !== undefined) this.failures.delete(account) // signed in: start again
    }
    return result
  }

  /**
   * A wrong password: counted, and from the allowed number on the account is locked for
   * FIRST_LOCK_MS, doubling with every further failure up to LONGEST_LOCK_MS.
   */
  private failed(account: string, checked: Failures): void {
    const now = this.now()
    // A success meanwhile dropped the entry it was checked under: this failure starts a new count.
    const entry = this.failures.get(account) === checked ? checked : { count: 0, firstAt: now, lastAt: now, lockedUntil: 0, checking: 0 }
    entry.count++
    entry.lastAt = now
    if (entry.count >= this.allowed) {
      entry.lockedUntil = now + Math.min(LONGEST_LOCK_MS, FIRST_LOCK_MS * 2 ** Math.min(30, entry.count - this.allowed))
    }
    this.remember(account, entry)
  }

  /** (Re-)inserts last: the map is in order of last change, the oldest pruned first. */
  private remember(account: string, entry: Failures): Failures {
    this.failures.delete(account)
    this.failures.set(account, entry)
    this.prune(this.now())
    return entry
  }

  /** The account's failures, unless they are forgotten: none within the window, and no lock left. */
  private current(account: string): Failures | null {
    const entry = this.failures.get(account)
    if (!entry) return null
    if (this.forgotten(entry, this.now())) {
      this.failures.delete(account)
      return null
    }
    return entry
  }

  private forgotten(entry: Failures, now: number): boolean {
    // Below the limit, the window runs from the first failure; once locked, the account stays
    // remembered (and its back-off growing) until a whole window passes after its last failure.
    const since = entry.count >= this.allowed ? entry.lastAt : entry.firstAt
    return entry.checking === 0 && now - since >= FAILURE_WINDOW_MS && entry.lockedUntil <= now
  }

  private prune(now: number): void {
    for (const [account, entry] of this.failures) {
      if (!this.forgotten(entry, now) && this.failures.size <= MAX_ENTRIES) break
      this.failures.delete(account)
    }
  }
}

/**
 * At most `slots` hashes at once, the rest waiting in order; a full queue answers 503 with
 * Retry-After at once. scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE
 * says otherwise), which file reads and sharp share: a slot left free there is a photo served.
 */
export class HashGate {
  private running = 0
  private readonly waiting: Array<() => void> = []
  private readonly maxWaiting: number

  constructor(private readonly slots: number) {
    this.maxWaiting = slots * QUEUE_PER_SLOT
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.slots) {
      if (this.waiting.length >= this.maxWaiting) throw new HttpError(503, 'too many sign-ins at once; try again in a moment', 1)
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.running++
    }
    try {
      return await work()
    } finally {
      // The slot passes straight to the next waiter, so `running` never drops between them.
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }
}

export interface SignInGuard {
  /** An attempt to sign in or up from this address: 429 when it has used its minute. */
  attempt(address: string): void
  /**
   * Checks a sign-in's password with `verify` (null: wrong) unless the account (its normalized
   * email) is locked: 429 then. Counts the outcome towards the account's lock.
   */
  signIn<T>(email: string, verify: () => Promise<T | null>): Promise<T | null>
}

export function signInGuard(limits: Pick<Limits, 'signInsPerAddress' | 'signInFailuresPerAccount'>, now: () => number = Date.now): SignInGuard {
  const addresses = new AddressWindow(limits.signInsPerAddress, now)
  const accounts = new AccountFailures(limits.signInFailuresPerAccount, now)
  return {
    attempt: (address) => addresses.take(address),
    signIn: (email, verify) => accounts.attempt(email, verify),
  }
}
