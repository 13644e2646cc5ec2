// A relay's in-memory list of sign-outs (RevokedSessions) against real PostgreSQL 15 and Redis 7,
// for the ways a broadcast can be missed: a sign-out committed but never told (its relay died
// between the commit and the broadcast) is caught by the periodic check; one made while Redis was
// down is caught when the fan-out reports the gap; revocations leave memory with their tokens.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type pg from 'pg'
import { Accounts, tokenHash } from '../../relay/store/accounts.ts'
import { RevokedSessions } from '../../relay/store/revoked-sessions.ts'
import { PgAccountStore } from '../../storage/postgres/accounts.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { RedisFanout } from '../../sync-server/fanout/redis.ts'
import { newKeyPair, publicKeyOf } from '../../shared/signing.ts'
import { postgresAndRedis } from '../helpers/services.ts'
import { waitFor } from '../helpers/relay.ts'

const services = postgresAndRedis(test)
let schemas = 0

const key = newKeyPair()
const HOUR = 3600_000

/** One relay's accounts: a pool, a fan-out and its list of sign-outs checked every `checkEveryMs`. */
async function relay(url: string, checkEveryMs: number, now: () => number) {
  const pool: pg.Pool = await openRelayPool(url)
  const fanout = await RedisFanout.open(services.redis.url)
  const store = new PgAccountStore(pool)
  const sessions = await RevokedSessions.start({ store, fanout, publicKey: publicKeyOf(key.publicJwk)!, now, checkEveryMs, log: () => {} })
  return {
    store, sessions, accounts: new Accounts(store, sessions, now, key),
    holds: (token: string) => sessions.session(token, tokenHash(token)) !== null,
    async close() { await sessions.close(); await fanout.close(); await pool.end() },
  }
}

async function signedIn(accounts: Accounts): Promise<string> {
  const account = await accounts.create(`c${Date.now()}${Math.random()}@example.test`, 'correct horse battery', 'C')
  return (await accounts.startSession(account!.userId)).token
}

test('a sign-out on A reaches B\'s list by broadcast well within 1 s', async () => {
  const url = await services.postgres.createSchema(`revocations_${++schemas}`)
  const a = await relay(url, HOUR, Date.now)
  const b = await relay(url, HOUR, Date.now) // no periodic check to speak of: only the broadcast can tell B
  try {
    const delays: number[] = []
    for (let i = 0; i < 20; i++) {
      const token = await signedIn(a.accounts)
      const { sid } = b.sessions.session(token, tokenHash(token))!
      const heard = new Promise<number>((resolve, reject) => {
        b.sessions.onEnd(sid!, () => resolve(performance.now()))
        setTimeout(() => reject(new Error('B did not hear of the sign-out within 2 s')), 2_000).unref()
      })
      await a.accounts.endSession(token)
      const committed = performance.now()
      delays.push(Math.max(0, await heard - committed))
      assert.is(b.holds(token), false)
    }
    delays.sort((x, y) => x - y)
    console.log(`sign-out broadcast, A's commit to B's list: median ${delays[10].toFixed(1)} ms, max ${delays[19].toFixed(1)} ms (20 sign-outs)`)
    assert.ok(delays[19] < 1_000)
  } finally {
    await a.close()
    await b.close()
  }
})

test('a sign-out committed but never broadcast is refused after the next periodic check', async () => {
  const url = await services.postgres.createSchema(`revocations_${++schemas}`)
  const a = await relay(url, HOUR, Date.now)
  const b = await relay(url, 200, Date.now)
  try {
    const token = await signedIn(a.accounts)
    assert.ok(b.holds(token))
    // What a relay that died between its commit and its broadcast leaves behind.
    assert.ok(await a.store.endSession(tokenHash(token), Date.now()))
    const started = performance.now()
    await waitFor(() => !b.holds(token), 'B to refuse the token', 2_000)
    console.log(`a sign-out never broadcast: refused on B ${(performance.now() - started).toFixed(0)} ms after its commit (check every 200 ms)`)
  } finally {
    await a.close()
    await b.close()
  }
})

test('a sign-out made while Redis was down is refused once the fan-out reports the gap', async () => {
  const url = await services.postgres.createSchema(`revocations_${++schemas}`)
  const a = await relay(url, HOUR, Date.now)
  const b = await relay(url, HOUR, Date.now) // no periodic check to speak of: only the gap can tell B
  try {
    const token = await signedIn(a.accounts)
    assert.ok(b.holds(token))
    await services.redis.kill()
    assert.ok(await a.store.endSession(tokenHash(token), Date.now()))
    await services.redis.start()
    const started = performance.now()
    await waitFor(() => !b.holds(token), 'B to refuse the token after the gap', 5_000)
    console.log(`a sign-out made while Redis was down: refused on B ${(performance.now() - started).toFixed(0)} ms after Redis was back`)
  } finally {
    await a.close()
    await b.close()
  }
})

test('a revocation leaves memory once its token has expired', async () => {
  const url = await services.postgres.createSchema(`revocations_${++schemas}`)
  let at = Date.now()
  const now = () => at
  const a = await relay(url, HOUR, now)
  const b = await relay(url, HOUR, now)
  try {
    const token = await signedIn(a.accounts)
    await a.accounts.endSession(token)
    await waitFor(() => b.sessions.size === 1 || null, 'B to hear of the sign-out')
    at += 31 * 24 * HOUR // past the 30-day session
    await b.sessions.check()
    assert.is(b.sessions.size, 0)
    assert.is(b.holds(token), false, 'expired, whatever the list says')
  } finally {
    await a.close()
    await b.close()
  }
})

test.run()
