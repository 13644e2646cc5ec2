// The app's estimate and the relay's receipt agree to the yen (issue 16): for random catalogs (the
// catalog's, a lab's own and a store's own discount rules, minSubtotal), random histories of the
// customer's earlier orders and a random draft, web/src/orders/estimate.ts over the customer's own
// receipts prices exactly as relay/orders/decide.ts over the relay's SQLite tables. Seeded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { decide } from '../../relay/orders/decide.ts'
import { estimate, receptionsOf } from '../../web/src/orders/estimate.ts'
import type { OrderView } from '../../web/src/orders/order-doc.ts'
import type { Catalog, DiscountRules, OrderSpec } from '../../shared/schema.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { Receptions } from '../../relay/store/receptions.ts'

const SEED = 20261206
const MINUTE = 60_000
const NOW = Date.parse('2026-03-31T03:00:00.000Z')
const photo = (n: number) => String(n).repeat(64)

const rulesArb = (scopes: Array<DiscountRules['scope']>): fc.Arbitrary<DiscountRules> => fc.record({
  scope: fc.constantFrom(...scopes),
  tiers: fc.uniqueArray(fc.record({ within: fc.constantFrom('PT12H', 'P1D', 'P7D', 'P1M'), amount: fc.integer({ min: 1, max: 400 }) }), { minLength: 1, maxLength: 3, selector: (t) => t.within }),
  minSubtotal: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
}).map(({ minSubtotal, ...rules }) => (minSubtotal === undefined ? rules : { ...rules, minSubtotal }))

const catalogArb: fc.Arbitrary<Catalog> = fc.record({
  discounts: rulesArb(['user', 'front', 'lab']),
  labB: fc.option(rulesArb(['user', 'front', 'lab']), { nil: undefined }),
  f1: fc.option(rulesArb(['front']), { nil: undefined }),
  f3: fc.option(rulesArb(['front']), { nil: undefined }),
  zone: fc.constantFrom('Asia/Tokyo', 'Europe/Berlin', 'UTC'),
}).map(({ discounts, labB, f1, f3, zone }): Catalog => ({
  currency: 'JPY', timeZone: zone,
  products: [{ id: 'L', name: 'L', widthMm: 89, heightMm: 127, media: 'm', price: 40 }, { id: '2L', name: '2L', widthMm: 127, heightMm: 178, media: 'm', price: 120 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-a', name: 'A', price: { L: 35 } }, { id: 'lab-b', name: 'B', price: {} as Record<string, number>, ...(labB ? { discounts: labB } : {}) }],
  fronts: [
    { id: 'f1', name: 'One', lab: 'lab-a', fee: 100, roles: ['reception', 'delivery'], ...(f1 ? { discounts: f1 } : {}) },
    { id: 'f2', name: 'Two', lab: 'lab-a', fee: 0, roles: ['reception', 'delivery'] },
    { id: 'f3', name: 'Three', lab: 'lab-b', fee: 50, roles: ['reception', 'delivery'], ...(f3 ? { discounts: f3 } : {}) },
  ],
  discounts,
}))

const caseArb = fc.record({
  catalog: catalogArb,
  // Distinct minutes: two orders in one millisecond are ordered by the relay's seq, which a device does not know.
  history: fc.uniqueArray(fc.record({ minutesAgo: fc.integer({ min: 1, max: 45 * 24 * 60 }), front: fc.constantFrom('f1', 'f2', 'f3'), user: fc.constantFrom('u0', 'u0', 'u1') }), { maxLength: 8, selector: (h) => h.minutesAgo }),
  front: fc.constantFrom('f1', 'f2', 'f3'),
  items: fc.array(fc.record({ product: fc.constantFrom('L', '2L'), qty: fc.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 3 }),
})

test('the app\'s estimate equals the relay\'s receipt: the same lines, total and both discounts', () => {
  const seen = { lab: 0, front: 0, none: 0 }
  fc.assert(fc.property(caseArb, ({ catalog, history, front, items }) => {
    const receptions = new Receptions(openDatabase(':memory:', RELAY_MIGRATIONS))
    const past: OrderView[] = history.map((h, i) => {
      const lab = catalog.fronts.find((f) => f.id === h.front)!.lab
      const receivedAt = new Date(NOW - h.minutesAgo * MINUTE)
      receptions.record({ order: `h${i}`, user: h.user, front: h.front, lab, receivedAt, status: 'accepted', error: null, lines: [], total: 0, currency: 'JPY', discount: null, storeStamp: null }, [])
      return {
        id: `h${i}`, spec: { user: h.user, front: h.front, state: 'submitted', items: [] }, progress: null, instore: null,
        receipt: { status: 'accepted', receivedAt: receivedAt.toISOString(), lab, lines: [], total: 0, currency: 'JPY', discount: null },
      }
    })
    const spec: OrderSpec = { id: 'new', user: 'u0', front, createdAt: new Date(NOW).toISOString(), state: 'submitted', items: items.map((item) => ({ image: photo(1), ...item })) }
    const now = new Date(NOW)
    const relay = decide({
      order: 'new', user: 'u0', reading: { spec, problems: [] }, rawFront: front, stamp: null, stampKey: null, uploaded: new Set([photo(1)]),
      catalog, now, firstSeen: now, photoDeadline: new Date(NOW + 7 * 24 * 60 * MINUTE), seq: receptions.nextSeq(),
    }, (scope, current) => receptions.reader(scope, current))
    if (relay.kind !== 'accepted') throw new Error(`expected accepted, got ${relay.kind}`)
    const app = estimate(catalog, { id: 'new', spec: { ...spec, state: 'draft' }, receipt: null, progress: null, instore: null }, receptionsOf(past), 'u0', now)
    assert.ok(app, 'an estimate')
    assert.equal(app!.lines, relay.reception.lines)
    assert.is(app!.total, relay.reception.total)
    assert.equal(app!.discount, relay.reception.discount)
    assert.equal(app!.frontDiscount, relay.reception.frontDiscount)
    if (relay.reception.discount) seen.lab++
    if (relay.reception.frontDiscount) seen.front++
    if (!relay.reception.discount && !relay.reception.frontDiscount) seen.none++
  }), { seed: SEED, numRuns: 300 })
  for (const [kind, count] of Object.entries(seen)) assert.ok(count >= 20, `${kind}: only ${count} (${JSON.stringify(seen)})`)
})

test.run()
