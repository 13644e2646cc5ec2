// The lab-facing stores as two relays of a cluster use them: two pools on one PostgreSQL schema.
// A lab's report ingested by both relays at once is stored once; a lab beating every second on one
// relay is online at every moment when asked on the other, though its row is written every 5 s.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type pg from 'pg'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { PgHistory } from '../../relay/store/history-postgres.ts'
import { LabPresences, MISSED_BEATS, WRITE_EVERY_MS, type PresenceRow } from '../../relay/store/lab-presence.ts'
import { PgPresenceRows } from '../../relay/store/lab-presence-postgres.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'
import { entry } from '../conformance/history.ts'

// Started at the top, not in test.before: uvu reports a failing before hook as 0 of 2 passed and
// exits 0, which would skip the file silently.
const server: PostgresServer = await startPostgres({ fsync: 'off' })
let schemas = 0
test.after(async () => { await server.stop() })

/** Two relays' pools on one fresh schema. */
async function twoRelays(): Promise<[pg.Pool, pg.Pool]> {
  const url = await server.createSchema(`cluster_labs_${++schemas}`)
  return [await openRelayPool(url), await openRelayPool(url)]
}

test('a report two relays ingest at once is stored once, and counted new by one of them only', async () => {
  const [poolA, poolB] = await twoRelays()
  try {
    const a = new PgHistory(poolA), b = new PgHistory(poolB)
    let stored = 0
    for (let round = 0; round < 20; round++) {
      // The lab's document as each relay holds it: the same entries, B's copy with some more.
      const report = Array.from({ length: 200 }, (_, i) => entry(`lab-1:r${round}:${i}`))
      const later = [...report, ...Array.from({ length: 20 }, (_, i) => entry(`lab-1:r${round}:extra${i}`))].reverse()
      const received = new Date(Date.UTC(2026, 4, 1, 9, round))
      const [addedA, addedB] = await Promise.all([a.record('lab-1', report, received), b.record('lab-1', later, received)])
      assert.is(addedA + addedB, 220, `round ${round}: ${addedA} + ${addedB}`)
      stored += 220
    }
    const { rows } = await poolA.query<{ count: number; ids: number }>('SELECT count(*) AS count, count(DISTINCT id) AS ids FROM history')
    assert.equal(rows[0], { count: stored, ids: stored })
  } finally {
    await Promise.all([poolA.end(), poolB.end()])
  }
})

test('a lab beating every second on relay A is online at every second asked on relay B; A writes its row at most every 5 s', async () => {
  const [poolA, poolB] = await twoRelays()
  try {
    const clock = { t: Date.UTC(2026, 4, 1, 9) }
    const rows = new PgPresenceRows(poolA)
    let writes = 0
    const counted: PgPresenceRows = Object.assign(Object.create(rows), { put: (lab: string, row: PresenceRow) => { writes++; return rows.put(lab, row) } })
    const a = new LabPresences(counted, () => clock.t)
    const b = new LabPresences(new PgPresenceRows(poolB), () => clock.t)
    const printers = [{ uri: 'ipp://printer/ipp/print', state: 'idle', reasons: [] }]
    const started = clock.t
    for (let second = 0; second < 60; second++) {
      await a.heartbeat('lab-1', { intervalMs: 1_000, printers })
      for (const offset of [0, 500, 999]) {
        clock.t = started + second * 1_000 + offset
        const seen = await b.of('lab-1')
        assert.ok(seen?.online, `offline on B at ${second} s + ${offset} ms: ${JSON.stringify(seen)}`)
        assert.ok(clock.t - seen!.lastSeen <= WRITE_EVERY_MS + offset, 'last seen on B lags A by the throttle at most')
        assert.equal(seen!.printers, printers)
      }
      clock.t = started + (second + 1) * 1_000
    }
    assert.ok(writes <= Math.ceil(60_000 / WRITE_EVERY_MS) + 1, `${writes} writes for 60 heartbeats`)
    // Gone from A: B says offline once three intervals and the throttle have passed since A's last word.
    const last = clock.t - 1_000
    clock.t = last + MISSED_BEATS * 1_000 + WRITE_EVERY_MS + 1
    await a.flush()
    assert.is((await b.of('lab-1'))!.online, false)
  } finally {
    await Promise.all([poolA.end(), poolB.end()])
  }
})

test.run()
