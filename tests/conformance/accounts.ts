// The acceptance suite every AccountStore runs against itself (relay/store/account-store.ts), through
// Accounts as the relay uses it: each test named for the rule it checks ([AS1]…). Two instances
// open on one storage are two relays on one database.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Accounts, tokenHash } from '../../relay/store/accounts.ts'
import type { AccountStore, Revocation } from '../../storage/account-store.ts'
import type { SessionCheck } from '../../relay/store/session-check.ts'
import { newKeyPair } from '../../shared/signing.ts'

/** One storage (a database file, a schema) that store instances are opened on. */
export interface AccountStorageUnderTest {
  /** A new instance on this storage: a second one open at once is a second relay on it. */
  open(): Promise<AccountStore>
  /** Closes every instance and removes the storage. */
  teardown(): Promise<void>
}

const DAY = 24 * 3600 * 1000
const PASSWORD = 'correct horse battery'

/** The clock every test runs on, moved by hand. */
class Clock {
  at = Date.UTC(2026, 0, 10)
  readonly now = () => this.at
}

/** A SessionCheck that only notes what Accounts tells it: the suite observes the store through Accounts. */
class ToldSessions implements SessionCheck {
  readonly told: Array<{ hash: string; revocation: Revocation | null }> = []
  session() { return null }
  stillHolds() { return false }
  ended(hash: string, revocation: Revocation | null) { this.told.push({ hash, revocation }) }
  onEnd() { return () => {} }
  async close() {}
}

interface Relay { accounts: Accounts; store: AccountStore; told: ToldSessions }

type Body = (relay: () => Promise<Relay>, clock: Clock) => Promise<void>

export function runAccountStoreTests(name: string, setup: () => Promise<AccountStorageUnderTest>, after: () => Promise<void> = async () => {}): void {
  const it = suite(`AccountStore: ${name}`)
  const key = newKeyPair()
  it.after(after)
  const test = (title: string, body: Body) => it(title, async () => {
    const storage = await setup()
    const clock = new Clock()
    const relay = async (): Promise<Relay> => {
      const store = await storage.open()
      const told = new ToldSessions()
      return { accounts: new Accounts(store, told, clock.now, key), store, told }
    }
    try {
      await body(relay, clock)
    } finally {
      await storage.teardown()
    }
  })

  test('[AS1] an account is found by its email, however it is cased or spaced, with its password only', async (relay) => {
    const { accounts } = await relay()
    const created = await accounts.create('  Aiko@Example.TEST ', PASSWORD, 'Aiko')
    assert.ok(created)
    assert.is(created.email, 'aiko@example.test')
    assert.equal(await accounts.verify('aiko@example.test', PASSWORD), created)
    assert.is(await accounts.verify('AIKO@example.test', 'wrong password'), null)
    assert.is(await accounts.verify('nobody@example.test', PASSWORD), null)
  })

  test('[AS2] an email has one account: a second sign-up with it is taken, on this relay or another', async (relay) => {
    const [a, b] = [await relay(), await relay()]
    assert.ok(await a.accounts.create('aiko@example.test', PASSWORD, 'Aiko'))
    assert.is(await a.accounts.create('Aiko@example.test', 'another password', 'Other'), null)
    assert.is(await b.accounts.create('aiko@example.test ', 'another password', 'Other'), null)
    assert.equal(await b.accounts.verify('aiko@example.test', PASSWORD), await a.accounts.verify('aiko@example.test', PASSWORD))
  })

  test('[AS3] sign-ups of one email at the same moment on two relays make exactly one account', async (relay) => {
    const [a, b] = [await relay(), await relay()]
    const row = (userId: string) => ({ userId, email: 'race@example.test', name: userId, passwordHash: 'scrypt$x$y', createdAt: new Date(0).toISOString() })
    // Many rows at once through both, past the look-up: only the unique email decides.
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).store.insertAccount(row(`user${i}`))))
    assert.is(outcomes.filter((outcome) => outcome === 'created').length, 1, outcomes.join(' '))
    const [one, two] = await Promise.all([a.accounts.create('both@example.test', PASSWORD, 'A'), b.accounts.create('both@example.test', PASSWORD, 'B')])
    assert.is([one, two].filter(Boolean).length, 1, 'one of the two sign-ups got the account, the other "taken"')
  })

  test('[AS4] the name given at sign-up is the account\'s name; none for an unknown user', async (relay) => {
    const { accounts } = await relay()
    const { userId } = (await accounts.create('aiko@example.test', PASSWORD, 'Aiko Tanaka'))!
    assert.is(await accounts.nameOf(userId), 'Aiko Tanaka')
    assert.is(await accounts.nameOf('nobody'), null)
  })

  test('[AS5] a session started on one relay is found on another until it expires, by its token\'s hash only', async (relay, clock) => {
    const [a, b] = [await relay(), await relay()]
    const { userId } = (await a.accounts.create('aiko@example.test', PASSWORD, 'Aiko'))!
    const { token, expiresAt } = await a.accounts.startSession(userId)
    assert.is(expiresAt, clock.at + 30 * DAY)
    const found = await b.store.session(tokenHash(token), clock.at)
    assert.ok(found?.sid)
    assert.equal(found, { userId, expiresAt, sid: found.sid })
    assert.is(await b.store.session(token, clock.at), null, 'the token itself is not what is stored')
    assert.is(await b.store.session(tokenHash(token), expiresAt), null, 'expired')
  })

  test('[AS6] a sign-out ends the session everywhere and lists its sid once, until the session would have expired', async (relay, clock) => {
    const [a, b] = [await relay(), await relay()]
    const { userId } = (await a.accounts.create('aiko@example.test', PASSWORD, 'Aiko'))!
    const { token, expiresAt } = await a.accounts.startSession(userId)
    const { sid } = (await a.store.session(tokenHash(token), clock.at))!
    await b.accounts.endSession(token)
    assert.is(await a.store.session(tokenHash(token), clock.at), null)
    const [told] = b.told.told
    assert.equal(told, { hash: tokenHash(token), revocation: { seq: told.revocation!.seq, sid: sid!, expiresAt } }, 'told once committed')
    await a.accounts.endSession(token) // again, on the other relay: nothing more to revoke
    assert.is(a.told.told[0].revocation, null)
    assert.equal((await a.accounts.revocationsAfter(0, 10)).revocations, [told.revocation])
    assert.is(await a.store.revocationsInForce(clock.at), 1)
    clock.at = expiresAt
    assert.equal((await a.accounts.revocationsAfter(0, 10)).revocations, [], 'an expired token needs no revocation')
    assert.is(await a.store.revocationsInForce(clock.at), 0)
  })

  test('[AS7] revocations page oldest first, and `last` resumes after the page without repeats or gaps', async (relay) => {
    const { accounts } = await relay()
    const { userId } = (await accounts.create('aiko@example.test', PASSWORD, 'Aiko'))!
    const sessions = await Promise.all(Array.from({ length: 5 }, () => accounts.startSession(userId)))
    for (const { token } of sessions) await accounts.endSession(token)
    const first = await accounts.revocationsAfter(0, 3)
    assert.is(first.revocations.length, 3)
    assert.is(first.last, first.revocations[2].seq)
    const rest = await accounts.revocationsAfter(first.last, 3)
    assert.is(rest.revocations.length, 2)
    const seqs = [...first.revocations, ...rest.revocations].map((r) => r.seq)
    assert.equal(seqs, [...seqs].sort((x, y) => x - y))
    assert.is(new Set(seqs).size, 5)
    assert.is(rest.last, seqs[4])
    assert.equal((await accounts.revocationsAfter(rest.last, 3)).revocations, [])
  })

  test('[AS8] `last` never goes back, even once every revocation expired and was pruned', async (relay, clock) => {
    const { accounts } = await relay()
    const { userId } = (await accounts.create('aiko@example.test', PASSWORD, 'Aiko'))!
    const first = await accounts.startSession(userId)
    await accounts.endSession(first.token)
    const { last } = await accounts.revocationsAfter(0, 10)
    clock.at += 31 * DAY // every revocation expired; any sign-out prunes them, one with no session too
    await accounts.endSession('a token of no session')
    const second = await accounts.startSession(userId)
    const third = await accounts.startSession(userId)
    await accounts.endSession(third.token)
    await accounts.endSession(second.token)
    const after = await accounts.revocationsAfter(last, 10)
    assert.is(after.revocations.length, 2, 'a lab node that read up to `last` still gets the new ones')
    assert.ok(after.last > last)
  })

  test('[AS9] sign-outs committed at once on two relays: a reader paging with `last` misses none', async (relay, clock) => {
    const [a, b, reader] = [await relay(), await relay(), await relay()]
    const { userId } = (await a.accounts.create('aiko@example.test', PASSWORD, 'Aiko'))!
    const tokens = await Promise.all(Array.from({ length: 40 }, () => a.accounts.startSession(userId)))
    const seen = new Set<string>()
    let last = 0
    let done = false
    const reading = (async () => {
      while (!done) {
        const page = await reader.store.revocationsAfter(last, clock.at, 1_000)
        for (const r of page.revocations) seen.add(r.sid)
        last = page.last
      }
    })()
    await Promise.all(tokens.map(({ token }, i) => (i % 2 ? a : b).accounts.endSession(token)))
    done = true
    await reading
    const page = await reader.store.revocationsAfter(last, clock.at, 1_000)
    for (const r of page.revocations) seen.add(r.sid)
    assert.is(seen.size, 40)
  })

  it.run()
}
