// The acceptance suite every ReceptionStore runs against itself (relay/store/reception-store.ts):
// each test named for a promise of that interface by its rule id, observed through the interface.
// receptions.test.ts runs it on SQLite, receptions-postgres.test.ts on PostgreSQL.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decideFrom } from '../../shared/discount.ts'
import type { DiscountRules, PriceLine } from '../../shared/schema.ts'
import type { Judge, ReceptionStore } from '../../relay/store/reception-store.ts'
import type { NewReception } from '../../relay/store/receptions.ts'

/** One storage that store instances are opened on. */
export interface ReceptionStorageUnderTest {
  /** A new instance on this storage: a second one open at once is a second relay on it. */
  open(): Promise<ReceptionStore>
  /** Removes the storage and closes every instance; called once. */
  teardown(): Promise<void>
}

export const T0 = Date.parse('2031-03-01T09:00:00Z')
const MINUTE = 60_000
export const RULES: DiscountRules = { scope: 'user', tiers: [{ within: 'P1D', amount: 50 }] }
const PHOTO = 'a'.repeat(64)

/**
 * A judge as order intake's: accepted at first sight at `front` (lab `lab`), 200 for the prints,
 * the repeat discount (RULES) decided from the previous receptions the store gives it.
 */
export function accepting(order: string, user: string, options: { front?: string; lab?: string; calls?: { n: number } } = {}): Judge {
  const front = options.front ?? 'station', lab = options.lab ?? 'demo-lab'
  return ({ firstSeen, seq, previous }) => {
    if (options.calls) options.calls.n++
    const current = { order, user, front, lab, receivedAt: firstSeen, seq }
    const discount = decideFrom(previous('user', current), current, RULES, 'UTC')
    const lines: PriceLine[] = [{ kind: 'print', label: 'L 89x127 mm × 2', amount: 200 }]
    if (discount) lines.push({ kind: 'discount', by: 'lab', label: 'Repeat-order discount', amount: -discount.amount })
    const reception: NewReception = {
      order, user, front, lab, receivedAt: firstSeen, status: 'accepted', error: null, lines,
      total: lines.reduce((sum, line) => sum + line.amount, 0), currency: 'JPY', discount, frontDiscount: null, storeStamp: null,
    }
    return { kind: 'record', reception, images: [PHOTO] }
  }
}

const refusing = (order: string, user: string): Judge => ({ now }) => ({
  kind: 'record', images: [],
  reception: { order, user, front: 'station', lab: 'demo-lab', receivedAt: now, status: 'rejected', error: 'no prints', lines: [], total: 0, currency: 'JPY', discount: null, frontDiscount: null, storeStamp: null },
})

/** Receives `order` and returns the reception (failing the test when it waits). */
export async function record(store: ReceptionStore, order: string, user: string, at: number, judge: Judge = accepting(order, user)) {
  const outcome = await store.receive(order, user, new Date(at), judge)
  if (outcome.kind !== 'recorded') throw new Error(`${order} waits`)
  return outcome.reception
}

/** `after` runs once the suite is done (the database server the storages live on is stopped there). */
export function runReceptionStoreTests(name: string, setup: () => Promise<ReceptionStorageUnderTest>, after?: () => Promise<void>): void {
  const it = suite(`ReceptionStore: ${name}`)
  if (after) it.after(after)
  const run = (title: string, body: (storage: ReceptionStorageUnderTest) => Promise<void>) => it(title, async () => {
    const storage = await setup()
    try { await body(storage) } finally { await storage.teardown() }
  })

  run('[RS1] an order is received exactly once: a second receive returns the first reception and runs no judge', async ({ open }) => {
    const store = await open()
    const first = await record(store, 'o1', 'u1', T0)
    const calls = { n: 0 }
    const again = await store.receive('o1', 'u1', new Date(T0 + MINUTE), accepting('o1', 'u1', { calls }))
    assert.equal(again.kind === 'recorded' && again.fresh, false)
    assert.equal(again.kind === 'recorded' ? again.reception.seq : null, first.seq)
    assert.is(calls.n, 0)
    assert.equal((await store.get('o1'))?.receivedAt, new Date(T0))
  })

  run('[RS2] the reception clock never goes back, for a second instance on the same storage too', async ({ open }) => {
    const a = await open()
    const first = await record(a, 'o1', 'u1', T0 + 10 * MINUTE)
    const b = await open()
    const second = await record(b, 'o2', 'u2', T0)
    assert.ok(second.receivedAt.getTime() >= first.receivedAt.getTime(), `${second.receivedAt.toISOString()} before ${first.receivedAt.toISOString()}`)
    assert.ok(second.seq > first.seq)
  })

  run('[RS3] first sight is kept: a later look does not move it, and the reception is dated by it', async ({ open }) => {
    const store = await open()
    assert.equal(await store.awaitingSince('o1', 'u1', new Date(T0)), new Date(T0))
    assert.equal(await store.awaitingSince('o1', 'u1', new Date(T0 + MINUTE)), new Date(T0))
    assert.equal(await store.waitingOrders({ user: 'u1' }), ['o1'])
    const reception = await record(store, 'o1', 'u1', T0 + 5 * MINUTE)
    assert.equal(reception.receivedAt, new Date(T0))
    assert.equal(await store.waitingOrders(), [])
  })

  run('[RS4] a waiting verdict records nothing and keeps the order waiting, with its first sight', async ({ open }) => {
    const store = await open()
    const outcome = await store.receive('o1', 'u1', new Date(T0), () => ({ kind: 'waiting', missing: [PHOTO], front: 'station' }))
    assert.equal(outcome, { kind: 'waiting', missing: [PHOTO], now: new Date(T0), firstSeen: new Date(T0) })
    assert.is(await store.get('o1'), null)
    assert.equal(await store.waitingOrders({ user: 'u1' }), ['o1'])
    assert.equal(await store.waitingOrders({ user: 'u2' }), [])
    await store.stopWaiting('o1')
    assert.equal(await store.waitingOrders(), [])
  })

  run('[RS5] the judge reads the customer\'s earlier accepted receptions, never rejected ones or other customers\'', async ({ open }) => {
    const store = await open()
    await record(store, 'o1', 'u1', T0)
    await record(store, 'x1', 'u2', T0 + MINUTE)
    await record(store, 'r1', 'u1', T0 + 2 * MINUTE, refusing('r1', 'u1'))
    const second = await record(store, 'o2', 'u1', T0 + 3 * MINUTE)
    assert.is(second.discount?.previousOrder, 'o1')
    assert.is(second.total, 150)
    const other = await record(store, 'x2', 'u2', T0 + 4 * MINUTE)
    assert.is(other.discount?.previousOrder, 'x1')
    const later = await record(store, 'o3', 'u1', T0 + 3 * 86_400_000)
    assert.is(later.discount, null)
  })

  run('[RS6] accepted orders get their store\'s next number, a refused one none', async ({ open }) => {
    const store = await open()
    const a = await record(store, 'o1', 'u1', T0)
    const refused = await record(store, 'r1', 'u1', T0 + 1, refusing('r1', 'u1'))
    const b = await record(store, 'o2', 'u2', T0 + 2)
    const elsewhere = await record(store, 'o3', 'u3', T0 + 3, accepting('o3', 'u3', { front: 'harbour' }))
    assert.ok(a.number && b.number && a.number !== b.number)
    assert.is(refused.number, null)
    assert.is(refused.status, 'rejected')
    assert.is(elsewhere.number, a.number)
  })

  run('[RS7] a reception is marked delivered only as it was delivered; undelivered ones are listed oldest first', async ({ open }) => {
    const store = await open()
    const a = await record(store, 'o1', 'u1', T0)
    const b = await record(store, 'o2', 'u2', T0 + 1)
    assert.equal((await store.undelivered(10)).map((r) => r.order), ['o1', 'o2'])
    await store.markDelivered({ ...a, total: a.total + 1 })
    await store.markDelivered({ ...b, status: 'cancelled' })
    assert.equal((await store.undelivered(10)).map((r) => r.order), ['o1', 'o2'])
    await store.markDelivered(a)
    assert.equal((await store.undelivered(10)).map((r) => r.order), ['o2'])
    assert.is((await store.get('o1'))?.delivered, true)
  })

  run('[RS8] a sweep\'s claim keeps a second claim off the same orders until it lapses', async ({ open }) => {
    const store = await open()
    await record(store, 'o1', 'u1', T0)
    await store.awaitingSince('w1', 'u1', new Date(T0))
    assert.equal((await store.undelivered(10, 60_000)).map((r) => r.order), ['o1'])
    assert.equal((await store.undelivered(10, 60_000)).map((r) => r.order), [])
    assert.equal(await store.waitingOrders({ limit: 10, claimMs: 60_000 }), ['w1'])
    assert.equal(await store.waitingOrders({ limit: 10, claimMs: 60_000 }), [])
    // Unclaimed listings still see them (intake's imagesArrived, the start's resume).
    assert.equal(await store.waitingOrders({ user: 'u1' }), ['w1'])
  })

  run('[RS9] a cancel reprices every order citing it in the same step, from what still qualifies, and marks them undelivered', async ({ open }) => {
    const store = await open()
    await record(store, 'o1', 'u1', T0)
    const o2 = await record(store, 'o2', 'u1', T0 + MINUTE)
    const o3 = await record(store, 'o3', 'u1', T0 + 2 * MINUTE)
    assert.is(o3.discount?.previousOrder, 'o2')
    await store.markDelivered(o3)
    const repriced = await store.cancel('o2', (citing, previous) => {
      const discount = decideFrom(previous('user', citing), citing, RULES, 'UTC')
      const lines = citing.lines.filter((l) => l.kind !== 'discount')
      if (discount) lines.push({ kind: 'discount', by: 'lab', label: 'again', amount: -discount.amount })
      return { lines, total: lines.reduce((s, l) => s + l.amount, 0), discount, frontDiscount: null }
    })
    assert.equal(repriced.map((r) => [r.order, r.discount?.previousOrder, r.total, r.delivered]), [['o3', 'o1', 150, false]])
    assert.is((await store.get('o2'))?.status, 'cancelled')
    assert.equal(await store.cancel('o2', () => { throw new Error('not again') }), [])
    assert.is(o2.status, 'accepted')
  })

  run('[RS10] an order citing one and printing is named by startedCiting; progress is noted', async ({ open }) => {
    const store = await open()
    await record(store, 'o1', 'u1', T0)
    await record(store, 'o2', 'u1', T0 + MINUTE)
    assert.is(await store.startedCiting('o1'), null)
    await store.setProgress('o2', 'queued')
    assert.is(await store.startedCiting('o1'), null)
    await store.setProgress('o2', 'printing')
    assert.is(await store.startedCiting('o1'), 'o2')
    assert.is((await store.get('o2'))?.progress, 'printing')
  })

  run('[RS11] a lab may read the photos of its orders; a reassigned order\'s photos move with it', async ({ open }) => {
    const store = await open()
    await record(store, 'o1', 'u1', T0)
    await store.setProgress('o1', 'failed')
    assert.is(await store.labUsesImage('demo-lab', PHOTO), true)
    assert.is(await store.labUsesImage('other-lab', PHOTO), false)
    await store.reassign('o1', 'other-lab')
    assert.is(await store.labUsesImage('other-lab', PHOTO), true)
    assert.is(await store.labUsesImage('demo-lab', PHOTO), false)
    const moved = await store.get('o1')
    assert.equal([moved?.lab, moved?.progress, moved?.delivered], ['other-lab', null, false])
  })

  run('[RS12] orders of one customer received at once through two instances: each previous order is cited once', async ({ open }) => {
    const stores = [await open(), await open()]
    const users = ['u1', 'u2', 'u3']
    const orders = users.flatMap((user) => Array.from({ length: 6 }, (_, i) => ({ user, order: `${user}-o${i}` })))
    await Promise.all(orders.map(({ user, order }, i) => record(stores[i % 2], order, user, T0 + i)))
    for (const user of users) {
      const mine = (await Promise.all(orders.filter((o) => o.user === user).map((o) => stores[0].get(o.order)))).map((r) => r!)
      mine.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || a.seq - b.seq)
      assert.equal(mine.map((r) => r.discount?.previousOrder ?? null), [null, ...mine.slice(0, -1).map((r) => r.order)], user)
    }
  })

  it.run()
}
