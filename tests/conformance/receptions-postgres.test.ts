// Runs the ReceptionStore acceptance suite on a real PostgreSQL 15 started for this file: every
// test in a schema of its own, a second instance a second pool on it (a second relay).
import type pg from 'pg'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { record, runReceptionStoreTests, T0 } from './receptions.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { PgReceptionStore } from '../../relay/store/receptions-postgres.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runReceptionStoreTests('PostgreSQL', async () => {
  const url = await server.createSchema(`receptions_${++schemas}`)
  const pools: pg.Pool[] = []
  return {
    async open() {
      const pool = await openRelayPool(url)
      pools.push(pool)
      return PgReceptionStore.open(pool)
    },
    async teardown() {
      for (const pool of pools) await pool.end()
    },
  }
})

// PostgreSQL only (SQLite's claims live in its one relay's memory): relays sweeping at once.
const sweeps = suite('ReceptionStore: PostgreSQL, relays sweeping at once')
sweeps.after(() => server.stop()) // the last suite of this file
sweeps('[RS-PG1] two relays claiming at once (FOR UPDATE SKIP LOCKED) take disjoint orders, all of them', async () => {
  const url = await server.createSchema(`receptions_${++schemas}`)
  const pools = [await openRelayPool(url), await openRelayPool(url)]
  try {
    const [a, b] = await Promise.all(pools.map((pool) => PgReceptionStore.open(pool)))
    for (let i = 0; i < 40; i++) await record(a, `o${i}`, `u${i % 5}`, T0 + i)
    for (let i = 0; i < 40; i++) await a.awaitingSince(`w${i}`, `u${i % 5}`, new Date(T0))
    const claimed = await Promise.all([a, b, a, b].map((store) => store.undelivered(15, 60_000)))
    const orders = claimed.flat().map((r) => r.order)
    assert.is(new Set(orders).size, orders.length, 'no order claimed twice')
    assert.is(orders.length, 40)
    const waiting = (await Promise.all([a, b, a, b].map((store) => store.waitingOrders({ limit: 15, claimMs: 60_000 })))).flat()
    assert.is(new Set(waiting).size, 40)
    assert.is(waiting.length, 40)
  } finally {
    for (const pool of pools) await pool.end()
  }
})
sweeps.run()
