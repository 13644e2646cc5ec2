// Where a customer's order stands and what they may do with it (web/src/orders/stage.ts), and
// what a new print or order starts with (web/src/orders/defaults.ts): the pure part of the web
// app's order controller, run in Node on plain order views.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Catalog, OrderItem, Progress, Receipt } from '../../shared/schema.ts'
import { frontForNewOrder, newPrints } from '../../web/src/orders/defaults.ts'
import type { InStore, OrderView } from '../../web/src/orders/order-doc.ts'
import { standingOf, type Held, type StandingContext } from '../../web/src/orders/stage.ts'

const IMAGE = '0123456789abcdef'.repeat(4)
const catalog: Catalog = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [
    { id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
    { id: '2L', name: '2L 127x178 mm', widthMm: 127, heightMm: 178, media: 'na_5x7_5x7in', price: 90 },
  ],
  templates: [{ id: 'white', name: 'White border' }, { id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', price: {} }],
  fronts: [
    { id: 'station', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'harbour', name: 'Harbour store', lab: 'lab-1', fee: 0, roles: ['reception'] },
    { id: 'pickup', name: 'Pickup point', lab: 'lab-1', fee: 0, roles: ['delivery'] },
  ],
  discounts: { scope: 'user', tiers: [] },
}
const NOW = new Date('2026-03-02T00:00:00.000Z')
const NOBODY: Held = { relay: false, store: false }

const order = (over: { state?: 'draft' | 'submitted' | 'cancelled'; front?: string; items?: OrderItem[]; createdAt?: string;
  receipt?: Partial<Receipt>; progress?: Progress['status']; instore?: InStore; id?: string } = {}): OrderView => ({
  id: over.id ?? 'o1',
  spec: { id: over.id ?? 'o1', user: 'u1', front: over.front ?? 'station', createdAt: over.createdAt ?? '2026-03-01T00:00:00.000Z',
    state: over.state ?? 'submitted', items: over.items ?? [{ image: IMAGE, product: 'L', qty: 3, template: 'plain' }] },
  receipt: over.receipt ? { status: 'accepted', receivedAt: '2026-03-01T01:00:00.000Z', lab: 'lab-1', lines: [], total: 220, currency: 'JPY', discount: null, ...over.receipt } : null,
  progress: over.progress ? { status: over.progress, updatedAt: '2026-03-01T02:00:00.000Z', jobs: [] } : null,
  instore: over.instore ?? null,
})
const judge = (view: OrderView, context: Partial<StandingContext> = {}) =>
  standingOf(view, { held: NOBODY, catalog, history: [], user: 'u1', now: NOW, ...context })

test('a complete draft may be sent or discarded, not cancelled, and shows its estimate', () => {
  const standing = judge(order({ state: 'draft' }))
  assert.is(standing.stage, 'draft')
  assert.equal(standing.problems, [])
  assert.equal(standing.actions, { send: true, discard: true, cancel: false, reorder: false })
  assert.is(standing.estimate?.total, 3 * 40 + 100)
  assert.equal(standing.price, { total: 220, currency: 'JPY', estimated: true })
  assert.is(standing.prints, 3)
})

test('a draft without a store says so and cannot be sent', () => {
  const standing = judge(order({ state: 'draft', front: '' }))
  assert.ok(standing.problems.length > 0)
  assert.is(standing.actions.send, false)
  assert.is(standing.estimate, null)
})

test('a draft cannot be sent before the catalog reached the device', () => {
  const standing = judge(order({ state: 'draft' }), { catalog: null })
  assert.equal(standing.problems, [])
  assert.is(standing.actions.send, false)
})

test('a sent order nobody holds yet is on this device only, waiting to be sent, and may be cancelled', () => {
  const standing = judge(order())
  assert.is(standing.stage, 'device-only')
  assert.equal(standing.steps, { sent: false, relay: 'todo', lab: 'todo' })
  assert.equal(standing.actions, { send: false, discard: false, cancel: true, reorder: true })
})

test('who holds a sent order sets its sign: the relay, else the home store, else the in-store stamp first', () => {
  assert.is(judge(order(), { held: { relay: true, store: false } }).stage, 'sent')
  assert.is(judge(order(), { held: { relay: false, store: true } }).stage, 'sent-store')
  const stamped = order({ instore: { lab: 'lab-1', front: 'station', receivedAt: '2026-03-01T00:30:00.000Z' } })
  assert.is(judge(stamped, { held: { relay: true, store: true } }).stage, 'in-store')
  assert.equal(judge(order(), { held: { relay: true, store: false } }).steps, { sent: true, relay: 'current', lab: 'todo' })
})

test('a received order shows the receipt\'s total, not an estimate, and may be cancelled until printing starts', () => {
  const received = judge(order({ receipt: {} }))
  assert.is(received.stage, 'received')
  assert.is(received.estimate, null)
  assert.equal(received.price, { total: 220, currency: 'JPY', estimated: false })
  assert.equal(received.steps, { sent: true, relay: 'done', lab: 'todo' })
  assert.is(received.actions.cancel, true)
  const printing = judge(order({ receipt: {}, progress: 'printing' }))
  assert.is(printing.actions.cancel, false)
  assert.is(printing.steps.lab, 'current')
  assert.is(printing.lab, 'printing')
  assert.is(judge(order({ receipt: {}, progress: 'printed' })).steps.lab, 'done')
  assert.is(judge(order({ receipt: {}, progress: 'failed' })).steps.lab, 'failed')
})

test('an order ready for pickup or collected offers no cancel: the relay would refuse it', () => {
  for (const progress of ['ready', 'collected', 'printed'] as const) {
    assert.is(judge(order({ receipt: {}, progress })).actions.cancel, false, progress)
  }
  for (const progress of ['queued', 'held', 'failed'] as const) {
    assert.is(judge(order({ receipt: {}, progress })).actions.cancel, true, progress)
  }
})

test('a rejected order failed at the relay and can no longer be cancelled', () => {
  const standing = judge(order({ receipt: { status: 'rejected', error: 'No such store' } }), { held: { relay: true, store: false } })
  assert.is(standing.stage, 'rejected')
  assert.is(standing.steps.relay, 'failed')
  assert.is(standing.actions.cancel, false)
  assert.is(standing.price, null)
})

test('a cancelled order ends its way failed; it was sent only if the relay received it', () => {
  const early = judge(order({ state: 'cancelled', progress: 'queued' }), { held: { relay: true, store: false } })
  assert.is(early.stage, 'cancelled')
  assert.equal(early.steps, { sent: false, relay: 'todo', lab: 'failed' })
  assert.is(early.lab, null)
  assert.equal(early.actions, { send: false, discard: false, cancel: false, reorder: true })
  assert.is(judge(order({ state: 'cancelled', receipt: {} })).steps.sent, true)
})

test('new prints take the size and frame of the draft\'s last print, else the first size and the plain frame', () => {
  const last: OrderItem = { image: IMAGE, product: '2L', qty: 2, template: 'white' }
  assert.equal(newPrints(catalog, [last], ['a', 'b']), [
    { image: 'a', product: '2L', qty: 1, template: 'white' },
    { image: 'b', product: '2L', qty: 1, template: 'white' },
  ])
  assert.equal(newPrints(catalog, [], ['a']), [{ image: 'a', product: 'L', qty: 1, template: 'plain' }])
})

test('a new order goes to the home store, else the latest order\'s store, else the only store that takes orders', () => {
  const older = order({ id: 'o1', front: 'station', createdAt: '2026-03-01T00:00:00.000Z' })
  const newer = order({ id: 'o2', front: 'harbour', createdAt: '2026-03-02T00:00:00.000Z' })
  assert.is(frontForNewOrder(catalog, [older, newer], 'station'), 'station')
  assert.is(frontForNewOrder(catalog, [older, newer], 'pickup'), 'harbour') // a pickup point takes no orders
  assert.is(frontForNewOrder(catalog, [], null), '')
  const oneStore = { ...catalog, fronts: catalog.fronts.filter((f) => f.id !== 'harbour') }
  assert.is(frontForNewOrder(oneStore, [], null), 'station')
})

test('a received order waiting for photos says so and names them; the received step stays current', () => {
  const waiting = judge(order({ receipt: { status: 'waiting', missing: [IMAGE] } as Partial<Receipt> }), { held: { relay: true, store: false } })
  assert.is(waiting.stage, 'waiting-photos')
  assert.equal(waiting.missing, [IMAGE])
  assert.is(waiting.steps.relay, 'current')
  assert.is(waiting.price, null, 'no price until the receipt is accepted')
  assert.is(waiting.actions.cancel, true)
  assert.equal(judge(order({ receipt: {} })).missing, [])
})

test('from the receipt on, the sign follows the lab: the badge and the steps never disagree', () => {
  const cases = [
    ['queued', 'received', 'current', 'todo'], ['held', 'held', 'current', 'todo'], ['printing', 'printing', 'current', 'todo'],
    ['printed', 'printed', 'done', 'todo'], ['failed', 'failed', 'failed', 'todo'], ['ready', 'ready', 'done', 'current'],
    ['collected', 'collected', 'done', 'done'],
  ] as const
  for (const [progress, stage, lab, pickup] of cases) {
    const standing = judge(order({ receipt: {}, progress }))
    assert.is(standing.stage, stage, progress)
    assert.is(standing.steps.relay, 'done', progress)
    assert.is(standing.steps.lab, lab, progress)
    assert.is(standing.pickup, pickup, progress)
  }
  assert.is(judge(order({ receipt: {} })).stage, 'received')
})

test('another device that got the order from the service or the store never calls it "on this device only"', () => {
  // What the second device knows: the service (or the store) holds every change it has.
  assert.is(judge(order(), { held: { relay: true, store: false } }).stage, 'sent')
  assert.is(judge(order(), { held: { relay: false, store: true } }).stage, 'sent-store')
  assert.is(judge(order({ receipt: {}, progress: 'printed' }), { held: NOBODY }).stage, 'printed')
})

test('no sign or hint speaks of the relay', async () => {
  const { STAGE_LABEL } = await import('../../web/src/orders/stage.ts')
  for (const label of Object.values(STAGE_LABEL)) assert.not.match(label, /relay/i)
})

test.run()
