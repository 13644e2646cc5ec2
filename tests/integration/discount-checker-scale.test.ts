// The discount checker at scale (issue 16 point 2): with 1,000,000 receptions in the relay's table,
// deciding a discount reads the customer's most recent reception and, only when that one misses a
// tier, the customer's receptions in the narrow band where an older window can end later: never
// the table. Asserted by the rows read and the query plans, not by timing (the time is printed).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { Receptions } from '../../relay/store/receptions.ts'
import { decide, decideFrom, type PastReception } from '../../shared/discount.ts'
import type { DiscountRules } from '../../shared/schema.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

const RECEPTIONS = 1_000_000
const USERS = 100_000
const MINUTE = 60_000
const BASE = Date.parse('2025-01-01T00:00:00Z')
const RULES: DiscountRules = { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] }

const dir = tempDir('labsync-checker-')
const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
test.after(() => { db.close(); removeDir(dir) })

/** `target`'s orders: a bunch at a January month end, the oldest of which alone holds P1M on 28 Feb at noon. */
const TARGET_ORDERS = [
  '2026-01-30T23:00:00Z', ...Array.from({ length: 40 }, (_, i) => new Date(Date.parse('2026-01-31T00:30:00Z') + i * 15 * MINUTE).toISOString()),
]

test.before(() => {
  // Ten orders for each of 100,000 customers over 2025 (one every 30 s), in the relay's table and indexes.
  db.prepare(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${RECEPTIONS - 1})
    INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, lines, total, currency, delivered)
    SELECT 'o' || i, 'u' || (i % ${USERS}), 'store-1', 'lab-1', ${BASE} + i * 30000, 'accepted', '[]', 0, 'JPY', 1 FROM n`).run()
  const insert = db.prepare(`INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, lines, total, currency, delivered)
    VALUES (?, 'target', 'store-1', 'lab-1', ?, 'accepted', '[]', 0, 'JPY', 1)`)
  TARGET_ORDERS.forEach((at, i) => insert.run(`t${i}`, Date.parse(at)))
})

const current = (user: string, at: string): PastReception => ({ order: 'new', user, front: 'store-1', lab: 'lab-1', receivedAt: new Date(at), seq: Number.MAX_SAFE_INTEGER })

test('the older-order case at 1,000,000 receptions: found by reading the customer\'s band, the same answer as the whole history', () => {
  const receptions = new Receptions(db)
  const now = current('target', '2026-02-28T12:00:00Z')
  const before = receptions.discountRowsRead
  const decision = decideFrom(receptions.reader('user', now), now, RULES, 'UTC')
  const read = receptions.discountRowsRead - before
  const all = TARGET_ORDERS.map((at, i) => ({ ...current('target', at), order: `t${i}`, seq: i }))
  assert.equal(decision, decide(all, now, RULES, 'UTC'))
  assert.is(decision?.previousOrder, 't0', '30 Jan 23:00 + P1M = 28 Feb 23:00 holds; the later ones end at their own time of day on 28 Feb')
  // The most recent order, then the customer's orders in P1M's band (never anyone else's).
  assert.ok(read <= 1 + TARGET_ORDERS.length, `read ${read} rows`)
})

test('a usual decision reads one row, whatever the table holds; the reads are index searches', () => {
  const receptions = new Receptions(db)
  let reads = 0
  const started = performance.now()
  const DECISIONS = 2_000
  for (let k = 0; k < DECISIONS; k++) {
    const user = `u${(k * 7919) % USERS}`
    // Just after the customer's latest order: P7D holds it at once.
    const latest = receptions.latestInScope('user', current(user, '2030-01-01T00:00:00Z'))!
    const now = current(user, new Date(latest.receivedAt.getTime() + 3 * 24 * 60 * MINUTE).toISOString())
    const before = receptions.discountRowsRead
    const decision = decideFrom(receptions.reader('user', now), now, RULES, 'UTC')
    reads += receptions.discountRowsRead - before
    assert.is(decision?.within, 'P7D')
  }
  const ms = (performance.now() - started) / DECISIONS / 2 // each loop also looked up the latest order once
  console.log(`discount checker: ${ms.toFixed(3)} ms a decision at ${RECEPTIONS.toLocaleString('en')} receptions (${(reads / DECISIONS).toFixed(2)} rows read)`)
  assert.is(reads, DECISIONS, 'one row a decision')
  // The statements of Receptions.inScopeSince and latestInScope (scope user).
  for (const [sql, params] of [
    ["EXPLAIN QUERY PLAN SELECT * FROM receptions WHERE status = 'accepted' AND user_id = ? AND received_at >= ? AND (received_at, seq) < (?, ?) ORDER BY received_at DESC, seq DESC", ['u1', 0, 0, 0]],
    ["EXPLAIN QUERY PLAN SELECT * FROM receptions WHERE status = 'accepted' AND user_id = ? AND (received_at, seq) < (?, ?) ORDER BY received_at DESC, seq DESC LIMIT 1", ['u1', 0, 0]],
  ] as const) {
    const plan = (db.prepare(sql).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('; ')
    assert.match(plan, /SEARCH receptions USING INDEX receptions_by_user/, plan)
    assert.not.match(plan, /TEMP B-TREE/, plan)
  }
})

test.run()
