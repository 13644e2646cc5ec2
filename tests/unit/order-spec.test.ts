// Reading an order's spec out of its Yjs document (shared/order-spec.ts): what the relay accepts,
// the lab can print. Malformed documents of every kind give problems, never an exception.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { readOrderSpec } from '../../shared/order-spec.ts'
import { writeSpec, type OrderSpec } from '../../shared/schema.ts'

const IMAGE = '0123456789abcdef'.repeat(4)
const good = (over: Partial<OrderSpec> = {}): OrderSpec => ({
  id: 'o1', user: 'u1', front: 'store-1', createdAt: '2026-03-01T00:00:00.000Z', state: 'submitted',
  items: [{ image: IMAGE, product: 'L', qty: 2, template: 'plain' }], ...over,
})
const docOf = (spec: OrderSpec, edit?: (map: Y.Map<unknown>) => void): Y.Doc => {
  const doc = new Y.Doc()
  writeSpec(doc, spec)
  if (edit) doc.transact(() => edit(doc.getMap('spec')))
  return doc
}
const problemsOf = (doc: Y.Doc, orderId = 'o1'): string[] => {
  const reading = readOrderSpec(doc, orderId)
  if (reading.problems.length === 0) assert.unreachable('expected problems')
  assert.is(reading.spec, null)
  return reading.problems
}
const mentions = (list: string[], word: string) => list.some((problem) => problem.includes(word))

test('a well-formed order reads back whole and typed', () => {
  const reading = readOrderSpec(docOf(good()), 'o1')
  assert.equal(reading.problems, [])
  assert.equal(reading.spec, good())
})

test('a document filled from another one\'s update reads the same', () => {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(docOf(good())))
  assert.equal(readOrderSpec(copy, 'o1').spec, good())
})

test('a draft with no prints yet is well formed (the catalog check asks for prints)', () => {
  assert.equal(readOrderSpec(docOf(good({ state: 'draft', items: [] })), 'o1').problems, [])
})

test('an empty document has no spec', () => {
  assert.ok(mentions(problemsOf(new Y.Doc()), 'no details'))
})

test('items written as a plain JSON array are refused', () => {
  const doc = docOf(good(), (map) => map.set('items', [{ image: IMAGE, product: 'L', qty: 1 }]))
  assert.ok(mentions(problemsOf(doc), 'prints are not in the form'))
})

test('items as a Y.Array of plain objects are refused, print by print', () => {
  const doc = docOf(good(), (map) => {
    const items = new Y.Array<unknown>()
    items.push([{ image: IMAGE, product: 'L', qty: 1 }, { image: IMAGE, product: 'L', qty: 1 }])
    map.set('items', items)
  })
  const list = problemsOf(doc)
  assert.ok(mentions(list, 'Print 1 is not in the form'))
  assert.ok(mentions(list, 'Print 2 is not in the form'))
})

test('a missing id, or one naming another order, is refused', () => {
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.delete('id'))), 'does not match the order'))
  assert.ok(mentions(problemsOf(docOf(good({ id: 'o2' }))), 'does not match the order'))
})

test('front as an object, a number or a huge string is refused, never thrown', () => {
  for (const front of [{ id: 'store-1' }, 42, 'x'.repeat(100_000), new Y.Map()]) {
    const list = problemsOf(docOf(good(), (map) => map.set('front', front)))
    assert.ok(mentions(list, 'store'), JSON.stringify(list))
    for (const problem of list) assert.ok(problem.length < 300, 'problems quote values briefly')
  }
})

test('numbers as strings, fractions, zero and too many copies are refused', () => {
  for (const qty of ['2', 1.5, 0, 1000, Number.NaN, null]) {
    const doc = docOf(good(), (map) => (map.get('items') as Y.Array<Y.Map<unknown>>).get(0).set('qty', qty))
    assert.ok(mentions(problemsOf(doc), 'number of copies'), String(qty))
  }
})

test('an image that is not a sha256, a product or template of the wrong type', () => {
  const edit = (key: string, value: unknown) => docOf(good(), (map) => (map.get('items') as Y.Array<Y.Map<unknown>>).get(0).set(key, value))
  assert.ok(mentions(problemsOf(edit('image', 'abc')), 'uploaded photo'))
  assert.ok(mentions(problemsOf(edit('product', 7)), 'print size'))
  assert.ok(mentions(problemsOf(edit('template', { id: 'plain' })), 'frame'))
  assert.ok(mentions(problemsOf(edit('crop', { x: 0, y: 0, w: 2, h: 1 })), 'crop'))
  assert.equal(readOrderSpec(edit('template', null), 'o1').problems, [], 'a null template means no frame')
  assert.equal(readOrderSpec(edit('crop', 'fit'), 'o1').problems, [])
})

test('user, createdAt and state must be the strings the app writes', () => {
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('user', ['u1']))), 'customer'))
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('createdAt', 'yesterday'))), 'creation date'))
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('createdAt', 1767225600000))), 'creation date'))
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('state', 'printed'))), 'state'))
})

test('too many prints are refused without reading them all', () => {
  const items = Array.from({ length: 501 }, () => ({ image: IMAGE, product: 'L', qty: 1 }))
  assert.ok(mentions(problemsOf(docOf(good({ items }))), 'at most 500'))
})

test('an order wrong everywhere gets a short list of problems', () => {
  const items = Array.from({ length: 400 }, () => ({ image: 'bad', product: 'L', qty: 0 }))
  const list = problemsOf(docOf(good({ items })))
  assert.ok(list.length <= 11, `${list.length} problems`)
  assert.ok(mentions(list, 'more problems'))
})

test('spec itself written as another Yjs type is refused, not thrown', () => {
  const doc = new Y.Doc()
  doc.getArray('spec').push([1])
  assert.ok(readOrderSpec(doc, 'o1').problems.length > 0)
})

test('pickupFront reads back when given, is left out when absent or null, and must be a store id (issue 16)', () => {
  const reading = readOrderSpec(docOf(good({ pickupFront: 'store-2' })), 'o1')
  assert.is(reading.spec?.pickupFront, 'store-2')
  assert.not.ok('pickupFront' in readOrderSpec(docOf(good()), 'o1').spec!)
  assert.not.ok('pickupFront' in readOrderSpec(docOf(good(), (map) => map.set('pickupFront', null)), 'o1').spec!)
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('pickupFront', 42))), 'where you collect'))
  assert.ok(mentions(problemsOf(docOf(good(), (map) => map.set('pickupFront', 'x'.repeat(65)))), 'where you collect'))
})

test.run()
