// Accounts and sessions across two relays of one cluster (real PostgreSQL 15 and Redis 7, two
// createRelay()s in this process with one signing key and data dirs of their own): an account made
// on A signs in on B, each relay takes the other's tokens; a sign-out on A is refused on B within
// a second and closes B's sockets of that session; one email signed up on both at once is one account.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { createRelay, type Relay } from '../../relay/server.ts'
import { newKeyPair } from '../../shared/signing.ts'
import { postgresAndRedis } from '../helpers/services.ts'
import { closed, connect, removeDir, signIn, signUp, synced, tempDir } from '../helpers/relay.ts'

const services = postgresAndRedis(test)
let schemas = 0

interface Cluster { a: Relay; b: Relay; close(): Promise<void> }

/** Two relays on a fresh schema, as `--store --fanout --images postgres --signing-key` would start them. */
async function cluster(): Promise<Cluster> {
  const store = await services.postgres.createSchema(`cluster_accounts_${++schemas}`)
  const signingKey = newKeyPair()
  const dirs = [tempDir('labsync-cluster-a-'), tempDir('labsync-cluster-b-')]
  const start = (dataDir: string) => createRelay({
    config: parseConfig(DEMO_CONFIG), dataDir, port: 0, signingKey,
    cluster: { store, fanout: services.redis.url, images: 'postgres' },
  })
  const a = await start(dirs[0])
  const b = await start(dirs[1])
  return {
    a, b,
    async close() {
      await a.close()
      await b.close()
      for (const dir of dirs) removeDir(dir)
    },
  }
}

/** What a relay answers a customer's token: 404 for an unknown photo when it holds, 401 when it does not. */
async function answerTo(relay: Relay, token: string): Promise<number> {
  const res = await fetch(`${relay.url}/api/images/${'a'.repeat(64)}`, { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  return res.status
}

const wsOf = (relay: Relay) => ({ wsUrl: relay.url.replace(/^http/, 'ws') })

test('an account signed up on A signs in on B, and either relay takes the token of either', async () => {
  const c = await cluster()
  try {
    const me = await signUp(c.a.url)
    const onB = await signIn(c.b.url, me.email)
    assert.is(onB.userId, me.userId)
    for (const token of [me.token, onB.token]) {
      assert.is(await answerTo(c.a, token), 404)
      assert.is(await answerTo(c.b, token), 404)
    }
    assert.is(await answerTo(c.b, `${me.token.slice(0, -4)}AAAA`), 401, 'a token with a broken signature')
  } finally {
    await c.close()
  }
})

test('a sign-out on A refuses the token on B within 1 s, and closes its socket on B', async () => {
  const c = await cluster()
  try {
    const me = await signUp(c.a.url)
    const other = await signIn(c.b.url, me.email) // another session of hers: it stays signed in
    assert.is(await answerTo(c.b, me.token), 404) // B has checked this token: any cache of it is warm
    const socket = connect(wsOf(c.b), `user/${me.userId}`, me.token)
    await synced(socket.provider)
    const socketClosed = closed(socket.provider, 5_000)

    const started = performance.now()
    const out = await fetch(`${c.a.url}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${me.token}` } })
    assert.is(out.status, 200)
    const answered = performance.now()
    assert.is(await answerTo(c.a, me.token), 401, 'refused at once where it was signed out')
    let refusedAt = 0
    while (performance.now() - answered < 2_000) {
      if (await answerTo(c.b, me.token) === 401) { refusedAt = performance.now(); break }
    }
    const { code } = await socketClosed
    const closedAt = performance.now()
    socket.provider.destroy()
    console.log(`sign-out on A: answered in ${(answered - started).toFixed(1)} ms; refused on B ${(refusedAt - answered).toFixed(1)} ms after the answer; ` +
      `B's socket closed ${(closedAt - answered).toFixed(1)} ms after it`)
    assert.ok(refusedAt > 0, 'B refused the token within 2 s')
    assert.ok(refusedAt - answered < 1_000, `B refused it ${(refusedAt - answered).toFixed(0)} ms after the sign-out, not within 1 s`)
    assert.is(code, 4401)
    assert.ok(closedAt - answered < 1_000, 'the socket closed within 1 s, not at its next message')
    assert.is(await answerTo(c.b, other.token), 404, 'her other session holds')
  } finally {
    await c.close()
  }
})

test('one email signed up on A and on B at the same moment makes one account', async () => {
  const c = await cluster()
  try {
    const email = `both-${Date.now()}@example.test`
    const signUpOn = (relay: Relay, name: string) => fetch(`${relay.url}/api/accounts`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: `password of ${name}`, name }),
    })
    const answers = await Promise.all([signUpOn(c.a, 'A'), signUpOn(c.b, 'B')])
    assert.equal(answers.map((res) => res.status).sort(), [201, 409])
    const winner = answers[0].status === 201 ? 'A' : 'B'
    const signInOn = (relay: Relay, name: string) => fetch(`${relay.url}/api/sessions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: `password of ${name}` }),
    }).then((res) => res.status)
    assert.is(await signInOn(c.a, winner), 200)
    assert.is(await signInOn(c.b, winner), 200)
    assert.is(await signInOn(c.b, winner === 'A' ? 'B' : 'A'), 401, 'the other sign-up made no account')
  } finally {
    await c.close()
  }
})

test.run()
