// What the relay checks in a submitted order before accepting it (shared/validate.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { validateSubmission } from '../../shared/validate.ts'
import type { Catalog, OrderItem, OrderSpec } from '../../shared/schema.ts'

const IMAGE = '0123456789abcdef'.repeat(4)
const catalog: Catalog = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', price: {} }],
  fronts: [
    { id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'pickup-only', name: 'Pickup point', lab: 'lab-1', fee: 0, roles: ['delivery'] },
    { id: 'orphan', name: 'Old store', lab: 'lab-gone', fee: 0, roles: ['reception'] },
  ],
  discounts: { scope: 'user', tiers: [] },
}
const item = (over: Partial<OrderItem> = {}): OrderItem => ({ image: IMAGE, product: 'L', qty: 1, ...over })
const spec = (over: Partial<OrderSpec> = {}): Partial<OrderSpec> => ({
  id: 'o1', user: 'u1', front: 'store-1', createdAt: '2026-03-01T00:00:00.000Z', state: 'submitted', items: [item()], ...over,
})
const problems = (over: Partial<OrderSpec> = {}) => validateSubmission(spec(over), catalog, 'u1')
const mentions = (list: string[], word: string) => list.some((problem) => problem.includes(word))

test('a valid order has no problems', () => {
  assert.equal(problems(), [])
})

test('a valid order may name a template that exists', () => {
  assert.equal(problems({ items: [item({ template: 'plain' })] }), [])
})

test('the order must be the submitter\'s own', () => {
  const list = validateSubmission(spec({ user: 'u2' }), catalog, 'u1')
  assert.is(list.length, 1)
  assert.ok(mentions(list, 'another account'))
})

test('an order without prints is refused', () => {
  assert.equal(problems({ items: [] }), ['The order has no prints in it.'])
  assert.equal(validateSubmission({ ...spec(), items: undefined }, catalog, 'u1'), ['The order has no prints in it.'])
})

test('500 prints are allowed, 501 are not', () => {
  assert.equal(problems({ items: Array.from({ length: 500 }, () => item()) }), [])
  const list = problems({ items: Array.from({ length: 501 }, () => item()) })
  assert.is(list.length, 1)
  assert.ok(mentions(list, 'at most 500'))
})

test('each quantity must be a whole number from 1 to 999', () => {
  for (const qty of [1, 999]) assert.equal(problems({ items: [item({ qty })] }), [])
  for (const qty of [0, 1000, 1.5, -1]) {
    const list = problems({ items: [item({ qty })] })
    assert.is(list.length, 1, `qty ${qty}`)
    assert.ok(mentions(list, 'from 1 to 999'))
  }
  assert.ok(mentions(problems({ items: [item({ qty: '2' as unknown as number })] }), 'Print 1'))
})

test('a product that is not in the catalog is refused, naming the print and the product', () => {
  const list = problems({ items: [item(), item({ product: 'A4' })] })
  assert.equal(list, ['Print 2 asks for a print size we do not offer ("A4").'])
})

test('a template that is not in the catalog is refused', () => {
  const list = problems({ items: [item({ template: 'gold-frame' })] })
  assert.equal(list, ['Print 1 asks for a frame we do not offer ("gold-frame").'])
})

test('the image must be a lowercase 64-character sha256 hex', () => {
  for (const image of [IMAGE.toUpperCase(), IMAGE.slice(1), `${IMAGE}0`, 'g'.repeat(64), '']) {
    assert.equal(problems({ items: [item({ image })] }), ['Print 1 does not refer to an uploaded photo.'], image)
  }
})

test('an item that is not an object is refused without throwing', () => {
  assert.equal(problems({ items: [null as unknown as OrderItem] }), ['Print 1 is not a valid print.'])
})

test('every problem is listed, not only the first', () => {
  const list = validateSubmission(spec({ user: 'u2', front: 'nowhere', items: [item({ qty: 0, product: 'A4' })] }), catalog, 'u1')
  assert.is(list.length, 4)
})

test('the store must be given and exist', () => {
  assert.equal(validateSubmission({ ...spec(), front: undefined }, catalog, 'u1'), ['Please choose the store that takes the order.'])
  assert.equal(problems({ front: 'nowhere' }), ['The store "nowhere" does not exist.'])
})

test('the store must take orders (role reception)', () => {
  const list = problems({ front: 'pickup-only' })
  assert.is(list.length, 1)
  assert.ok(mentions(list, 'Pickup point does not take orders'))
})

test('the store\'s lab must exist', () => {
  const list = problems({ front: 'orphan' })
  assert.is(list.length, 1)
  assert.ok(mentions(list, 'no lab'))
})

test('an order wrong in every print lists a few problems and how many more', () => {
  const list = problems({ items: Array.from({ length: 300 }, () => item({ product: 'POSTER' })) })
  assert.is(list.length, 11)
  assert.match(list[10], /290 more problems/)
})

test('an order may be collected at another store that hands orders over (issue 16)', () => {
  assert.equal(problems({ pickupFront: 'pickup-only' }), [])
  assert.ok(mentions(problems({ pickupFront: 'orphan' }), 'does not hand orders over'))
  assert.ok(mentions(problems({ pickupFront: 'nowhere' }), 'pickup store "nowhere" does not exist'))
})

test.run()
