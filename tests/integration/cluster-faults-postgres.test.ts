// A relay in cluster mode whose PostgreSQL goes away: /healthz answers 503 with Retry-After within
// about a probe interval (so the balancer takes the relay out), and a client that writes is
// closed with 4500 "retry later" (y-websocket reconnects), its write never echoed: nothing that
// was not stored is acknowledged.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PostgresServer } from '../helpers/postgres.ts'
import { startPostgresRetrying } from '../helpers/cluster.ts'
import { startRedis, type RedisServer } from '../helpers/redis.ts'
import { closed, makePhoto, removeDir, sha256Hex, signUp, startRelay, synced, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { echoes, historyEntry, labClient, poll, written } from '../helpers/cluster-load.ts'
import { isRetryLaterClose } from '../../shared/errors.ts'

let postgres: PostgresServer | null = null
let redis: RedisServer | null = null
let relay: RelayProcess | null = null
/** A customer signed up while PostgreSQL was there. */
let customer: { token: string } | null = null
const dir = tempDir('labsync-cluster-pg-')
test.after(async () => {
  await relay?.stop()
  await redis?.stop()
  await postgres?.stop()
  removeDir(dir)
})

test('PostgreSQL gone: /healthz 503 with Retry-After within 2 s, a writer closed with 4500 and its write not echoed', async () => {
  postgres = await startPostgresRetrying()
  redis = await startRedis()
  const keyFile = join(dir, 'signing-key.pem')
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 })
  relay = await startRelay({ dataDir: join(dir, 'relay'), env: { LABSYNC_STORE: await postgres.createDatabase('labsync'), LABSYNC_FANOUT: redis.url, LABSYNC_SIGNING_KEY: keyFile } })
  const healthy = await fetch(`${relay.url}/healthz`)
  assert.is(healthy.status, 200)
  customer = await signUp(relay.url).catch((error: Error) => {
    throw new Error(`sign-up: ${error.message} (${String(error.cause)})\n${relay!.output().slice(-3000)}`)
  })

  const client = labClient(relay.wsUrl, 'demo-lab', 'demo-lab-key')
  const echoed = echoes(client)
  try {
    await synced(client.provider, 10_000)
    client.doc.getArray('history').push([historyEntry('before')])
    const first = written(client)
    await poll(() => echoed.clock() >= first, 'the first write echoed', 10_000)

    // Measured from the moment the server is gone: its fast shutdown itself takes seconds on a busy machine.
    const stopping = Date.now()
    await postgres.stop()
    const stoppedAt = Date.now()
    const answer = await poll(async () => {
      const answer = await fetch(`${relay!.url}/healthz`).catch((error: Error) => {
        throw new Error(`GET /healthz: ${error.message} (${String(error.cause)})\n${relay!.output().slice(-3000)}`)
      })
      return answer.status === 503 ? answer : null
    }, '/healthz to answer 503', 5_000)
    const unhealthyAfter = Date.now() - stoppedAt
    assert.is(answer.headers.get('retry-after'), '5')
    assert.match((await answer.json() as { error: string }).error, /PostgreSQL/)
    console.log(`PostgreSQL stopped (its shutdown took ${stoppedAt - stopping} ms): /healthz answered 503 ${unhealthyAfter} ms after it was gone`)
    // A probe a second, the last answer read: at most about one interval.
    assert.ok(unhealthyAfter < 2_000, `503 only after ${unhealthyAfter} ms`)

    const closing = closed(client.provider, 10_000)
    client.doc.getArray('history').push([historyEntry('after')])
    const second = written(client)
    const { code } = await closing
    assert.is(code, 4500)
    assert.ok(isRetryLaterClose(code))
    assert.ok(echoed.clock() < second, 'a write that could not be stored was echoed')
  } finally {
    client.provider.destroy()
  }
})

test('PostgreSQL gone: the HTTP routes that need it answer 503 with Retry-After, not 500', async () => {
  assert.ok(relay && customer, 'the first test left a relay whose PostgreSQL is stopped')
  const bearer = { authorization: `Bearer ${customer.token}` }
  const photo = await makePhoto(7, 64, 48)
  const sha = sha256Hex(photo)
  const asks: Array<[string, string, RequestInit]> = [
    ['sign-up', '/api/accounts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'late@example.test', password: 'a long enough password', name: 'Late' }) }],
    ['sign-in', '/api/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'late@example.test', password: 'a long enough password' }) }],
    ['photo upload', `/api/images/${sha}`, { method: 'PUT', headers: { ...bearer, 'content-type': 'image/jpeg' }, body: new Uint8Array(photo) }],
    ['photo read', `/api/images/${sha}`, { headers: bearer }],
    ['resumable upload', '/api/uploads', { method: 'POST', headers: { ...bearer, 'tus-resumable': '1.0.0', 'upload-length': String(photo.length), 'upload-metadata': `sha256 ${Buffer.from(sha).toString('base64')}` } }],
  ]
  const answers: string[] = []
  for (const [what, path, init] of asks) {
    const answer = await fetch(`${relay.url}${path}`, init)
    answers.push(`${what}: ${answer.status} retry-after=${answer.headers.get('retry-after')} ${await answer.text()}`)
  }
  const wrong = answers.filter((line) => !/: 503 retry-after=[1-9]/.test(line))
  assert.equal(wrong, [], `${answers.join('\n')}\n${relay.output().slice(-4000)}`)
})

test.run()
