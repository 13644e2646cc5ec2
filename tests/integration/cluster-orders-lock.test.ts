// Two relays' reception stores (two pools) on one PostgreSQL, deciding many orders of the same
// customers at once: under the per-customer advisory lock every previous order is cited by exactly
// one later order (one discount per qualifying order); without it (the test-only switch) two
// orders decided at the same time both cite the same previous one, which is the race it prevents.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type pg from 'pg'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { PgReceptionStore } from '../../relay/store/receptions-postgres.ts'
import type { Reception } from '../../relay/store/receptions.ts'
import { record, T0 } from '../conformance/receptions.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
const pools: pg.Pool[] = []
let schemas = 0

test.after(async () => {
  for (const pool of pools.splice(0)) await pool.end()
  await server.stop()
})

const CUSTOMERS = 10
const ORDERS_EACH = 20

/** Two stores on one fresh schema, as two relays would open it. */
async function twoRelays(customerLock: boolean): Promise<PgReceptionStore[]> {
  const url = await server.createSchema(`lock_${++schemas}`)
  const stores: PgReceptionStore[] = []
  for (let i = 0; i < 2; i++) {
    const pool = await openRelayPool(url)
    pools.push(pool)
    stores.push(await PgReceptionStore.open(pool, { customerLock }))
  }
  return stores
}

/** Every customer's orders received at once, alternately through the two stores; all receptions, by customer. */
async function receiveAtOnce(stores: PgReceptionStore[]): Promise<Map<string, Reception[]>> {
  const orders = Array.from({ length: CUSTOMERS * ORDERS_EACH }, (_, i) => ({ user: `u${i % CUSTOMERS}`, order: `o${i}` }))
  // As many at once as each relay's pool has connections (6): a queue beyond waits for one anyway.
  const queues = stores.map((_, s) => orders.filter((_, i) => i % 2 === s))
  const received: Reception[] = []
  await Promise.all(stores.flatMap((store, s) => Array.from({ length: 6 }, async () => {
    for (let next = queues[s].shift(); next; next = queues[s].shift()) received.push(await record(store, next.order, next.user, T0))
  })))
  const byCustomer = new Map<string, Reception[]>()
  for (const reception of received) byCustomer.set(reception.user, [...(byCustomer.get(reception.user) ?? []), reception])
  return byCustomer
}

/** Orders citing a previous order another order of the same customer already cites: decisions made twice. */
function duplicateCitations(receptions: Reception[]): number {
  const cited = receptions.map((r) => r.discount?.previousOrder).filter((order): order is string => order !== undefined)
  return cited.length - new Set(cited).size
}

test('under the per-customer lock, orders decided at once on two relays each cite a different previous order', async () => {
  const stores = await twoRelays(true)
  const started = performance.now()
  const byCustomer = await receiveAtOnce(stores)
  console.log(`under the lock: ${CUSTOMERS * ORDERS_EACH} orders of ${CUSTOMERS} customers through two stores in ${Math.round(performance.now() - started)} ms`)
  let duplicates = 0
  for (const [user, receptions] of byCustomer) {
    duplicates += duplicateCitations(receptions)
    receptions.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || a.seq - b.seq)
    // The first order has no previous order; every later one gets the discount, citing the one before it.
    assert.equal(receptions.map((r) => r.discount?.previousOrder ?? null), [null, ...receptions.slice(0, -1).map((r) => r.order)], user)
  }
  assert.is(duplicates, 0)
})

test('without the lock (test-only switch) the same load decides previous orders twice: the race the lock prevents', async () => {
  const byCustomer = await receiveAtOnce(await twoRelays(false))
  const duplicates = [...byCustomer.values()].reduce((sum, receptions) => sum + duplicateCitations(receptions), 0)
  console.log(`without the lock: ${duplicates} duplicate previous-order decisions over ${CUSTOMERS * ORDERS_EACH} orders of ${CUSTOMERS} customers`)
  assert.ok(duplicates > 0, 'expected the race to show without the lock')
})

test.run()
