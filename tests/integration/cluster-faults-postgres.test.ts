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
import { closed, removeDir, startRelay, synced, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { echoes, historyEntry, labClient, poll, written } from '../helpers/cluster-load.ts'
import { isRetryLaterClose } from '../../shared/errors.ts'

let postgres: PostgresServer | null = null
let redis: RedisServer | null = null
let relay: RelayProcess | null = null
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
      const answer = await fetch(`${relay!.url}/healthz`)
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

test.run()
