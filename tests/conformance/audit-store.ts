// The acceptance suite every AuditStore implementation runs against itself (storage/audit-store.ts):
// rows are seeded straight into the tables by a per-dialect seeder (as the relay's own stores
// would write them), then read back only through the store; each test is named by its rule id.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { AuditStore, Listed, Position } from '../../storage/audit-store.ts'
import type { ReceptionStatus } from '../../shared/audit.ts'
import type { DiscountDecision, PriceLine } from '../../shared/schema.ts'

export interface SeedReception {
  order: string; user: string; front: string; lab: string; receivedAt: number; status: ReceptionStatus
  lines: PriceLine[]; total: number; number?: string | null; error?: string | null
  discount?: DiscountDecision | null; frontDiscount?: DiscountDecision | null; pickupFront?: string | null
  storeStamp?: { lab: string; receivedAt: string; used: boolean; reason?: string } | null
}
export interface SeedHistory {
  id: string; lab: string; order: string; item: number; copies: number; status: string; printedAt: number; receivedAt: number
  user: string | null; front: string | null; reprint?: boolean; reason?: string | null
}
export interface SeedWaiting { order: string; user: string; front: string | null; firstSeen: number; missing: string[] }

/** Writes rows with SQL as the relay's stores would; the dialect's own column types. */
export interface AuditSeeder {
  account(user: string, email: string, name: string): Promise<void>
  reception(r: SeedReception): Promise<void>
  /** An order priced again (a cited order cancelled): its lines and total rewritten, as Receptions.cancel does. */
  reprice(order: string, lines: PriceLine[], total: number): Promise<void>
  /** Overwrites the stored discount amounts only, so a test can tell whether a sum read them or the lines. */
  discountColumns(order: string, lab: number, front: number): Promise<void>
  history(h: SeedHistory): Promise<void>
  waiting(w: SeedWaiting): Promise<void>
}

export interface AuditStorageUnderTest { store: AuditStore; seed: AuditSeeder; teardown(): Promise<void> }

type Body = (store: AuditStore, seed: AuditSeeder) => Promise<void>
type It = (title: string, body: Body) => void

const T0 = Date.parse('2024-05-01T00:00:00Z')
const MIN = 60_000
const DAY = 86_400_000
const print = (amount: number, label = 'L 89x127 mm × 2'): PriceLine => ({ kind: 'print', label, amount })
const fee = (amount: number): PriceLine => ({ kind: 'fee', label: 'Station store service fee', amount })
const off = (amount: number, by?: 'lab' | 'front'): PriceLine => ({ kind: 'discount', label: 'Repeat discount', amount: -amount, ...(by ? { by } : {}) })
const decision = (previousOrder: string, amount: number): DiscountDecision => ({ previousOrder, previousReceivedAt: new Date(T0).toISOString(), within: 'P7D', amount })

/** An accepted reception at `T0 + minutes`: 70 of prints, a fee of 100 at the station, no discount unless given. */
function accepted(order: string, minutes: number, fields: Partial<SeedReception> = {}): SeedReception {
  return { order, user: 'user-a', front: 'station', lab: 'lab-1', receivedAt: T0 + minutes * MIN, status: 'accepted', lines: [print(70), fee(100)], total: 170, ...fields }
}

/** Every row of a listing, read `size` at a time through positionOf, as the API's cursor does. */
async function readAll<Row>(read: (from: Position | null, limit: number) => Promise<Listed<Row>>, size: number): Promise<Row[]> {
  const all: Row[] = []
  let from: Position | null = null
  for (;;) {
    const page = await read(from, size)
    assert.ok(page.rows.length <= size, 'a page never holds more than its limit')
    all.push(...page.rows)
    if (page.rows.length < size) return all
    from = page.positionOf(page.rows[page.rows.length - 1])
  }
}

/**
 * Registers and runs `AuditStore: <name>`; every test gets fresh, empty storage from setup().
 * `after` runs once the suite is done (a database server is stopped there).
 */
export function runAuditStoreTests(name: string, setup: () => Promise<AuditStorageUnderTest>, after?: () => Promise<void>): void {
  const test = suite(`AuditStore: ${name}`)
  if (after) test.after(after)
  const it: It = (title, body) => test(title, async () => {
    const storage = await setup()
    try {
      await body(storage.store, storage.seed)
    } finally {
      await storage.teardown()
    }
  })
  receiptRules(it)
  totalsRules(it)
  historyRules(it)
  reportRules(it)
  test.run()
}

/** Receipts and waiting orders [AU1]-[AU4]. */
function receiptRules(it: It): void {
  it('[AU1] a receipt row carries its lines, both decisions, what was applied, the stamp and the customer', async (store, seed) => {
    await seed.account('user-a', 'ann@example.com', 'Ann')
    const stamp = { lab: 'lab-1', receivedAt: '2024-05-01T00:01:00.000Z', used: false, reason: 'stamp too old' }
    await seed.reception(accepted('o1', 1, {
      number: 'K7M2', pickupFront: 'harbour', lines: [print(70), fee(100), off(70, 'lab'), off(30, 'front')], total: 70,
      discount: decision('o0', 200), frontDiscount: decision('o0', 30), storeStamp: stamp,
    }))
    const [row] = (await store.receipts({}, null, 10)).rows
    assert.equal(row, {
      seq: row.seq, order: 'o1', number: 'K7M2', user: 'user-a', name: 'Ann', email: 'ann@example.com', front: 'station', pickupFront: 'harbour',
      lab: 'lab-1', receivedAt: new Date(T0 + MIN).toISOString(), status: 'accepted', error: null,
      lines: [print(70), fee(100), off(70, 'lab'), off(30, 'front')], total: 70, currency: 'JPY',
      discount: decision('o0', 200), frontDiscount: decision('o0', 30), discountApplied: 100,
      inStore: { lab: 'lab-1', stampedAt: stamp.receivedAt, used: false, reason: 'stamp too old' },
    })
    await seed.reception(accepted('o2', 2, { user: 'gone' }))
    const gone = (await store.receipts({ user: 'gone' }, null, 10)).rows[0]
    assert.equal([gone.name, gone.email, gone.discount, gone.inStore, gone.discountApplied], [null, null, null, null, 0])
  })

  it('[AU2] every filter narrows receipts: lab, user, front, status, number, email, since (inclusive), until (exclusive)', async (store, seed) => {
    await seed.account('user-b', 'bea@example.com', 'Bea')
    await seed.reception(accepted('o1', 0, { number: 'AAAA' }))
    await seed.reception(accepted('o2', 10, { user: 'user-b', front: 'harbour', lab: 'lab-2', number: 'AAAA' }))
    await seed.reception(accepted('o3', 20, { status: 'rejected', error: 'bad', lines: [], total: 0 }))
    const orders = async (filter: Parameters<AuditStore['receipts']>[0]) => (await store.receipts(filter, null, 10)).rows.map((r) => r.order)
    assert.equal(await orders({}), ['o1', 'o2', 'o3'])
    assert.equal(await orders({ lab: 'lab-2' }), ['o2'])
    assert.equal(await orders({ user: 'user-a' }), ['o1', 'o3'])
    assert.equal(await orders({ front: 'station' }), ['o1', 'o3'])
    assert.equal(await orders({ status: 'rejected' }), ['o3'])
    assert.equal(await orders({ number: 'AAAA' }), ['o1', 'o2'])
    assert.equal(await orders({ number: 'AAAA', front: 'harbour' }), ['o2'])
    assert.equal(await orders({ email: 'bea@example.com' }), ['o2'])
    assert.equal(await orders({ email: 'nobody@example.com' }), [])
    assert.equal(await orders({ since: T0 + 10 * MIN }), ['o2', 'o3'])
    assert.equal(await orders({ until: T0 + 10 * MIN }), ['o1'])
    assert.equal(await orders({ lab: "lab-1' OR '1'='1" }), [], 'a filter is a value, never SQL')
  })

  it('[AU3] keyset pages walk receipts at tied times in (time, seq) order, every row once; a cursor before `since` starts at since', async (store, seed) => {
    for (let i = 0; i < 40; i++) await seed.reception(accepted(`o${String(i).padStart(2, '0')}`, Math.floor(i / 10)))
    const all = await readAll((from, limit) => store.receipts({}, from, limit), 7)
    assert.equal(all.map((r) => r.order), Array.from({ length: 40 }, (_, i) => `o${String(i).padStart(2, '0')}`))
    const since = await store.receipts({ since: T0 + 2 * MIN }, { t: T0, k: 0 }, 5)
    assert.equal(since.rows.map((r) => r.order), ['o20', 'o21', 'o22', 'o23', 'o24'])
    assert.is((await store.receipts({}, null, 3)).rows.length, 3)
  })

  it('[AU4] waiting orders are listed by first sight with the photos they miss, filtered by user, front and e-mail, paged by order id', async (store, seed) => {
    await seed.account('user-b', 'bea@example.com', 'Bea')
    for (const [i, order] of ['w3', 'w1', 'w2'].entries()) {
      await seed.waiting({ order, user: i === 2 ? 'user-b' : 'user-a', front: i === 0 ? null : 'station', firstSeen: T0 + (i === 0 ? 0 : MIN), missing: [`sha-${order}`] })
    }
    const labOf = (front: string) => (front === 'station' ? 'lab-1' : '')
    const listed = await store.waiting({}, null, 10, labOf, 'JPY')
    assert.equal(listed.rows.map((r) => [r.order, r.lab, r.front, r.missing, r.status]), [
      ['w3', '', '', ['sha-w3'], 'waiting'], ['w1', 'lab-1', 'station', ['sha-w1'], 'waiting'], ['w2', 'lab-1', 'station', ['sha-w2'], 'waiting'],
    ])
    assert.equal([listed.rows[2].name, listed.rows[2].total, listed.rows[2].currency, listed.rows[2].seq], ['Bea', 0, 'JPY', 0])
    assert.equal((await store.waiting({ email: 'bea@example.com' }, null, 10, labOf, 'JPY')).rows.map((r) => r.order), ['w2'])
    assert.equal((await store.waiting({ front: 'station' }, null, 10, labOf, 'JPY')).rows.map((r) => r.order), ['w1', 'w2'])
    assert.equal((await readAll((from, limit) => store.waiting({}, from, limit, labOf, 'JPY'), 1)).map((r) => r.order), ['w3', 'w1', 'w2'])
  })
}

/** Totals [AU5]-[AU7]. */
function totalsRules(it: It): void {
  it('[AU5] totals sum every accepted reception the filter matches, discounts negative, the lab\'s and the store\'s apart', async (store, seed) => {
    await seed.reception(accepted('o1', 0))
    await seed.reception(accepted('o2', 1, { lines: [print(70), fee(100), off(70)], total: 100, discount: decision('o1', 200) }))
    await seed.reception(accepted('o3', 2, { lines: [print(70), fee(100), off(50, 'lab'), off(30, 'front')], total: 90, discount: decision('o2', 50), frontDiscount: decision('o2', 30) }))
    await seed.reception(accepted('o4', 3, { status: 'rejected', lines: [print(70), off(70)], total: 0 }))
    await seed.reception(accepted('o5', 4, { lab: 'lab-2', lines: [print(40), off(10, 'front')], total: 30 }))
    assert.equal(await store.totals({}), { orders: 4, revenue: 170 + 100 + 90 + 30, labDiscount: -120, frontDiscount: -40 })
    assert.equal(await store.totals({ lab: 'lab-1', since: T0 + MIN }), { orders: 2, revenue: 190, labDiscount: -120, frontDiscount: -30 })
    assert.equal(await store.totals({ status: 'accepted', until: T0 + MIN }), { orders: 1, revenue: 170, labDiscount: 0, frontDiscount: 0 })
    assert.equal(await store.totals({ status: 'rejected' }), { orders: 0, revenue: 0, labDiscount: 0, frontDiscount: 0 })
    assert.equal(await store.totals({ user: 'nobody' }), { orders: 0, revenue: 0, labDiscount: 0, frontDiscount: 0 })
  })

  it('[AU6] totals are sums of the stored discount amounts: a receipt\'s lines are not opened', async (store, seed) => {
    await seed.reception(accepted('o1', 0, { lines: [print(70), fee(100), off(70), off(30, 'front')], total: 70 }))
    await seed.discountColumns('o1', 1234, 567)
    assert.equal(await store.totals({}), { orders: 1, revenue: 70, labDiscount: -1234, frontDiscount: -567 })
  })

  it('[AU7] the stored discount amounts follow the lines when a reception is written and when it is priced again', async (store, seed) => {
    await seed.reception(accepted('o1', 0, { lines: [print(70), fee(100), off(70)], total: 100 }))
    assert.equal(await store.totals({}), { orders: 1, revenue: 100, labDiscount: -70, frontDiscount: 0 })
    await seed.reprice('o1', [print(70), fee(100), off(20, 'lab'), off(100, 'front')], 50)
    assert.equal(await store.totals({}), { orders: 1, revenue: 50, labDiscount: -20, frontDiscount: -100 })
    await seed.reprice('o1', [print(70), fee(100)], 170)
    assert.equal(await store.totals({}), { orders: 1, revenue: 170, labDiscount: 0, frontDiscount: 0 })
  })
}

/** Printing history [AU8]-[AU9]. */
function historyRules(it: It): void {
  const entry = (id: string, minutes: number, fields: Partial<SeedHistory> = {}): SeedHistory => ({
    id, lab: 'lab-1', order: 'o1', item: 0, copies: 2, status: 'completed', printedAt: T0 + minutes * MIN, receivedAt: T0 + (minutes + 1) * MIN,
    user: 'user-a', front: 'station', ...fields,
  })

  it('[AU8] a history row carries its print size from the receipt, and only a reprint says so, with its reason', async (store, seed) => {
    await seed.reception(accepted('o1', 0, { lines: [print(35, 'L 89x127 mm × 1'), print(80, '2L 127x178 mm × 2'), fee(100)], total: 215 }))
    await seed.history(entry('h1', 1, { item: 1 }))
    await seed.history(entry('h2', 2, { reprint: true, reason: 'smudged' }))
    await seed.history(entry('h3', 3, { order: 'unknown', user: null, front: null }))
    const rows = (await store.history({}, null, 10)).rows
    assert.equal(rows[0], {
      id: 'h1', lab: 'lab-1', order: 'o1', item: 1, printer: 'ipp://127.0.0.1:8631/ipp/print', job: '7', copies: 2, status: 'completed',
      printedAt: new Date(T0 + MIN).toISOString(), receivedAt: new Date(T0 + 2 * MIN).toISOString(), user: 'user-a', front: 'station', size: '2L 127x178 mm',
    })
    assert.equal([rows[1].size, rows[1].reprint, rows[1].reason], ['L 89x127 mm', true, 'smudged'])
    assert.equal([rows[2].size, rows[2].user, 'reprint' in rows[2]], [null, null, false])
  })

  it('[AU9] every filter narrows history, and keyset pages walk tied times in (time, id) order', async (store, seed) => {
    await seed.account('user-b', 'bea@example.com', 'Bea')
    await seed.reception(accepted('o1', 0, { number: 'AAAA' }))
    await seed.history(entry('h1', 1))
    await seed.history(entry('h2', 2, { lab: 'lab-2', user: 'user-b', front: 'harbour', order: 'o2', status: 'aborted' }))
    await seed.history(entry('h3', 3, { reprint: true, reason: null }))
    const ids = async (filter: Parameters<AuditStore['history']>[0]) => (await store.history(filter, null, 10)).rows.map((r) => r.id)
    assert.equal(await ids({ lab: 'lab-2' }), ['h2'])
    assert.equal(await ids({ user: 'user-a' }), ['h1', 'h3'])
    assert.equal(await ids({ front: 'harbour' }), ['h2'])
    assert.equal(await ids({ status: 'aborted' }), ['h2'])
    assert.equal(await ids({ email: 'bea@example.com' }), ['h2'])
    assert.equal(await ids({ number: 'AAAA' }), ['h1', 'h3'])
    assert.equal(await ids({ reprint: 1 }), ['h3'])
    assert.equal(await ids({ reprint: 0 }), ['h1', 'h2'])
    assert.equal(await ids({ since: T0 + 2 * MIN, until: T0 + 3 * MIN }), ['h2'])
    for (let i = 0; i < 25; i++) await seed.history(entry(`t${String(i).padStart(2, '0')}`, 100))
    const tied = await readAll((from, limit) => store.history({ since: T0 + 100 * MIN }, from, limit), 4)
    assert.equal(tied.map((r) => r.id), Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`))
  })
}

/** Daily figures, lab activity, receptions and the change log [AU10]-[AU13]. */
function reportRules(it: It): void {
  it('[AU10] daily: accepted orders, those discounted and what both discounts took off, copies printed and reprinted per lab', async (store, seed) => {
    const days = [0, 1, 2].map((d) => ({ day: `2024-05-0${d + 1}`, start: T0 + d * DAY, end: T0 + (d + 1) * DAY }))
    await seed.reception(accepted('o1', 0))
    await seed.reception(accepted('o2', 1, { lines: [print(70), fee(100), off(70, 'lab'), off(30, 'front')], total: 70, discount: decision('o1', 200), frontDiscount: decision('o1', 30) }))
    await seed.reception(accepted('o3', 2, { status: 'rejected', lines: [], total: 0 }))
    await seed.reception(accepted('o4', 24 * 60 + 5, { lab: 'lab-2', front: 'harbour', user: 'user-b' }))
    const h = (id: string, lab: string, day: number, copies: number, fields: Partial<SeedHistory> = {}): SeedHistory => ({
      id, lab, order: 'o1', item: 0, copies, status: 'completed', printedAt: T0 + day * DAY + MIN, receivedAt: T0 + day * DAY + 2 * MIN, user: 'user-a', front: 'station', ...fields,
    })
    await seed.history(h('h1', 'lab-1', 0, 2))
    await seed.history(h('h2', 'lab-1', 0, 1, { reprint: true, reason: 'jam' }))
    await seed.history(h('h3', 'lab-1', 0, 5, { status: 'aborted' }))
    await seed.history(h('h4', 'lab-2', 1, 3, { user: 'user-b', front: 'harbour' }))
    const all = await store.daily({}, days, ['lab-1', 'lab-2'])
    assert.equal(all.orders, [
      { day: '2024-05-01', orders: 2, discounted: 1, discount_amount: 100 },
      { day: '2024-05-02', orders: 1, discounted: 0, discount_amount: 0 },
    ])
    assert.equal(all.prints, [{ day: '2024-05-01', lab: 'lab-1', prints: 3 }, { day: '2024-05-02', lab: 'lab-2', prints: 3 }])
    assert.equal(all.reprints, [{ day: '2024-05-01', lab: 'lab-1', reprints: 1 }])
    const narrowed = await store.daily({ user: 'user-b', front: 'harbour', lab: 'lab-2' }, days, ['lab-2'])
    assert.equal(narrowed, { orders: [{ day: '2024-05-02', orders: 1, discounted: 0, discount_amount: 0 }], prints: [{ day: '2024-05-02', lab: 'lab-2', prints: 3 }], reprints: [] })
  })

  it('[AU11] a lab\'s activity is its latest history arrival and print time; none for a lab without history', async (store, seed) => {
    const at = (id: string, printed: number, received: number): SeedHistory =>
      ({ id, lab: 'lab-1', order: 'o1', item: 0, copies: 1, status: 'completed', printedAt: printed, receivedAt: received, user: null, front: null })
    await seed.history(at('h1', T0 + 5 * MIN, T0 + 9 * MIN))
    await seed.history(at('h2', T0 + 7 * MIN, T0 + 8 * MIN))
    assert.equal(await store.labActivity('lab-1'), { lastHistoryAt: T0 + 9 * MIN, lastPrintedAt: T0 + 7 * MIN })
    assert.equal(await store.labActivity('lab-2'), { lastHistoryAt: null, lastPrintedAt: null })
  })

  it('[AU12] reception(order) is its lab and status, or null for an order never received', async (store, seed) => {
    await seed.reception(accepted('o1', 0, { status: 'cancelled' }))
    assert.equal(await store.reception('o1'), { lab: 'lab-1', status: 'cancelled' })
    assert.is(await store.reception('o2'), null)
  })

  it('[AU13] a logged change is listed as logged until settled, then as settled; the log filters by admin and action and pages by id', async (store) => {
    const first = await store.logChange(T0, 'root', 'order.reassign', { order: 'o1', outcome: 'pending' })
    const second = await store.logChange(T0, 'ops', 'order.reassign', { order: 'o2', outcome: 'pending' })
    const third = await store.logChange(T0 + MIN, 'root', 'other.action', { n: 1 })
    assert.ok(first < second && second < third)
    assert.equal((await store.auditLog({}, null, 10)).rows[0], { id: first, at: new Date(T0).toISOString(), admin: 'root', action: 'order.reassign', detail: { order: 'o1', outcome: 'pending' } })
    await store.settle(first, { order: 'o1', outcome: 'done' })
    assert.equal((await store.auditLog({ admin: 'root', action: 'order.reassign' }, null, 10)).rows.map((a) => a.detail), [{ order: 'o1', outcome: 'done' }])
    assert.equal((await store.auditLog({ since: T0 + MIN }, null, 10)).rows.map((a) => a.id), [third])
    assert.equal((await readAll((from, limit) => store.auditLog({}, from, limit), 2)).map((a) => a.id), [first, second, third])
  })
}
