// Lab nodes and the admin on a cluster: two relays (createRelay twice, one PostgreSQL, one Redis,
// one signing key). A lab node talks to relay A, the admin asks relay B: the key the lab
// registered on A is known on B, its heartbeat on A makes it online on B with its printers, and
// the queue A wrote is counted on B.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { QueueEntry } from '../../shared/schema.ts'
import { newKeyPair } from '../../shared/signing.ts'
import { parseConfig } from '../../relay/config.ts'
import { labRoom } from '../../relay/room-names.ts'
import { createRelay, type Relay } from '../../relay/server.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'
import { startRedis, type RedisServer } from '../helpers/redis.ts'
import { ADMIN_TOKEN, CONFIG, LAB_KEYS } from '../helpers/admin.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

// Started at the top, not in test.before: uvu reports a failing before hook as nothing passed and
// exits 0, which would skip the file silently.
const postgres: PostgresServer = await startPostgres({ fsync: 'off' })
const redis: RedisServer = await startRedis().catch(async (error: Error) => { await postgres.stop(); throw error })
let schemas = 0
test.after(async () => { await Promise.all([postgres.stop(), redis.stop()]) })

interface LabRow { id: string; queue: number | null; online: boolean; lastSeen: string | null; printers: Array<{ uri: string; state: string }> }

/** Two relays of one cluster on a fresh schema; closed (and their directories removed) after `run`. */
async function withCluster(run: (a: Relay, b: Relay) => Promise<void>): Promise<void> {
  const store = await postgres.createSchema(`cluster_labs_${++schemas}`)
  const signingKey = newKeyPair()
  const dirs = [tempDir('labsync-cluster-a-'), tempDir('labsync-cluster-b-')]
  const relays: Relay[] = []
  try {
    for (const dataDir of dirs) {
      relays.push(await createRelay({ config: parseConfig(CONFIG), dataDir, port: 0, signingKey, cluster: { store, fanout: redis.url, images: 'postgres' } }))
    }
    await run(relays[0], relays[1])
  } finally {
    for (const relay of relays) await relay.close()
    for (const dir of dirs) removeDir(dir)
  }
}

const asLab = (lab: keyof typeof LAB_KEYS) => ({ authorization: `Bearer ${LAB_KEYS[lab]}`, 'content-type': 'application/json' })

async function registerKey(relay: Relay, lab: keyof typeof LAB_KEYS, publicKey: unknown): Promise<number> {
  const res = await fetch(`${relay.url}/api/labs/keys`, { method: 'POST', headers: asLab(lab), body: JSON.stringify({ publicKey }) })
  await res.arrayBuffer()
  return res.status
}

async function labRows(relay: Relay): Promise<Map<string, LabRow>> {
  const res = await fetch(`${relay.url}/api/admin/labs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  assert.is(res.status, 200)
  return new Map(((await res.json()) as { rows: LabRow[] }).rows.map((row) => [row.id, row]))
}

test('a key a lab registered through relay A is known through relay B, and taken for any other lab there', () => withCluster(async (a, b) => {
  const key = newKeyPair().publicJwk
  assert.is(await registerKey(a, 'lab-1', key), 201, 'created on A')
  assert.is(await registerKey(b, 'lab-1', key), 200, 'known on B: not created a second time')
  assert.is(await registerKey(b, 'lab-2', key), 409, 'another lab cannot take it on B')
  assert.is(await registerKey(a, 'lab-2', key), 409)
}))

test('a heartbeat on relay A makes the lab online on relay B, with its printers; a lab never heard from is offline', () => withCluster(async (a, b) => {
  const printers = [{ uri: 'ipp://127.0.0.1:8631/ipp/print', state: 'stopped', reasons: ['media-empty-error'], media: ['oe_photo-l_3.5x5in'] }]
  const before = Date.now()
  const res = await fetch(`${a.url}/api/labs/presence`, { method: 'POST', headers: asLab('lab-1'), body: JSON.stringify({ intervalMs: 10_000, printers }) })
  assert.is(res.status, 204)
  const rows = await labRows(b)
  const lab1 = rows.get('lab-1')!
  assert.ok(lab1.online, JSON.stringify(lab1))
  assert.ok(Date.parse(lab1.lastSeen!) >= before && Date.parse(lab1.lastSeen!) <= Date.now())
  assert.equal(lab1.printers, printers)
  assert.equal({ online: rows.get('lab-2')!.online, lastSeen: rows.get('lab-2')!.lastSeen }, { online: false, lastSeen: null })
}))

test('the queue relay A wrote for a lab is counted by the admin on relay B, and kept current there', () => withCluster(async (a, b) => {
  const queue = (relay: Relay, order: string) => relay.rooms.borrow(labRoom('lab-1'), (room) => room.writeAsRelay((doc) => {
    doc.getMap<QueueEntry>('queue').set(order, { receivedAt: new Date().toISOString(), front: 'station' })
  }))
  await queue(a, 'o1')
  assert.is((await labRows(b)).get('lab-1')!.queue, 1, 'B loads the lab document from PostgreSQL')
  await queue(a, 'o2')
  // B holds the document now: it hears of the second order through the fan-out, within moments.
  const deadline = Date.now() + 2_000
  let seen = (await labRows(b)).get('lab-1')!.queue
  while (seen !== 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    seen = (await labRows(b)).get('lab-1')!.queue
  }
  assert.is(seen, 2)
}))

test.run()
