// Receipt lines and money formatting (shared/pricing.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatMoney, minorDigits, priceOrder, PricingError, type PricingInput } from '../../shared/pricing.ts'
import type { DiscountDecision, Front, LabInfo, Product } from '../../shared/schema.ts'

const IMAGE = 'a'.repeat(64)
const products: Product[] = [
  { id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
  { id: '2L', name: '2L 127x178 mm', widthMm: 127, heightMm: 178, media: 'oe_photo-2l_5x7in', price: 120 },
]
const lab: LabInfo = { id: 'lab-1', name: 'Central lab', price: { L: 35 } }
const front: Front = { id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] }
const discount = (amount: number, within = 'P7D'): DiscountDecision => ({ previousOrder: 'o1', previousReceivedAt: '2026-03-01T00:00:00.000Z', within, amount })

const input = (over: Partial<PricingInput> = {}): PricingInput => ({
  items: [{ image: IMAGE, product: 'L', qty: 2 }], front, lab, products, discount: null, currency: 'JPY', ...over,
})
const sum = (lines: { amount: number }[]) => lines.reduce((total, line) => total + line.amount, 0)

test('a print line uses the lab\'s price for the product where the lab has one', () => {
  const { lines } = priceOrder(input())
  assert.equal(lines[0], { kind: 'print', label: 'L 89x127 mm × 2', amount: 70 })
})

test('a print line falls back to the product\'s price where the lab has none', () => {
  const { lines } = priceOrder(input({ items: [{ image: IMAGE, product: '2L', qty: 3 }] }))
  assert.equal(lines[0], { kind: 'print', label: '2L 127x178 mm × 3', amount: 360 })
})

test('a lab price of 0 is a price, not a missing one', () => {
  const { lines } = priceOrder(input({ lab: { ...lab, price: { L: 0 } } }))
  assert.is(lines[0].amount, 0)
})

test('one print line per item, in item order', () => {
  const { lines } = priceOrder(input({ items: [{ image: IMAGE, product: '2L', qty: 1 }, { image: IMAGE, product: 'L', qty: 1 }] }))
  assert.equal(lines.filter((line) => line.kind === 'print').map((line) => line.amount), [120, 35])
})

test('the store\'s fee is its own line', () => {
  const { lines, total } = priceOrder(input())
  assert.equal(lines[1], { kind: 'fee', label: 'Station store service fee', amount: 100 })
  assert.is(total, 170)
})

test('a store without a fee gets no fee line', () => {
  const { lines } = priceOrder(input({ front: { ...front, fee: 0 } }))
  assert.is(lines.some((line) => line.kind === 'fee'), false)
})

test('a discount is a negative line naming its period and who gave it', () => {
  const { lines, total } = priceOrder(input({ discount: discount(50) }))
  assert.equal(lines[2], { kind: 'discount', by: 'lab', label: 'Repeat-order discount from Central lab (previous order within P7D)', amount: -50 })
  assert.is(total, 120)
})

test('the lab\'s discount never reaches into the store\'s fee', () => {
  const { total } = priceOrder(input({ discount: discount(150) }))
  assert.is(total, 100)
})

test('a lab discount larger than the prints is clamped to them: the fee stays and the lines add up', () => {
  const { lines, total } = priceOrder(input({ discount: discount(1000) }))
  assert.is(total, 100)
  assert.is(lines[2].amount, -70)
  assert.is(sum(lines), total)
})

test('the store\'s own discount lowers only its fee, never below zero, on its own line', () => {
  const { lines, total } = priceOrder(input({ frontDiscount: discount(30, 'P1M') }))
  assert.equal(lines[2], { kind: 'discount', by: 'front', label: 'Repeat-customer discount from Station store on its fee (previous order within P1M)', amount: -30 })
  assert.is(total, 140)
  const both = priceOrder(input({ discount: discount(1000), frontDiscount: discount(1000) }))
  assert.equal(both.lines.map((line) => [line.kind, line.by, line.amount]), [['print', undefined, 70], ['fee', undefined, 100], ['discount', 'lab', -70], ['discount', 'front', -100]])
  assert.is(both.total, 0)
})

test('a discount on an order that costs nothing adds no line', () => {
  const { lines, total } = priceOrder(input({ front: { ...front, fee: 0 }, lab: { ...lab, price: { L: 0 } }, discount: discount(200) }))
  assert.is(total, 0)
  assert.is(lines.some((line) => line.kind === 'discount'), false)
})

test('the lines always add up to the total', () => {
  for (const amount of [0, 1, 69, 170, 171, 10_000]) {
    for (const fee of [0, 100]) {
      const { lines, total } = priceOrder(input({ front: { ...front, fee }, discount: discount(amount) }))
      assert.is(sum(lines), total)
      assert.ok(total >= 0)
    }
  }
})

test('an unknown product is a PricingError naming it', () => {
  assert.throws(
    () => priceOrder(input({ items: [{ image: IMAGE, product: 'A4', qty: 1 }] })),
    (error: unknown) => error instanceof PricingError && error.message.includes('"A4"'),
  )
})

test('a quantity that is not a whole number of at least 1 is a PricingError', () => {
  for (const qty of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => priceOrder(input({ items: [{ image: IMAGE, product: 'L', qty }] })), (error: unknown) => error instanceof PricingError)
  }
})

test('a fractional or negative price in the catalog is a PricingError, never a fractional line', () => {
  assert.throws(() => priceOrder(input({ lab: { ...lab, price: { L: 35.5 } } })), (error: unknown) => error instanceof PricingError)
  assert.throws(() => priceOrder(input({ front: { ...front, fee: -100 } })), (error: unknown) => error instanceof PricingError)
})

test('a currency that is not an ISO 4217 code is a PricingError', () => {
  assert.throws(() => priceOrder(input({ currency: 'yen' })), (error: unknown) => error instanceof PricingError)
})

test('formatMoney uses the currency\'s minor digits: JPY 0, USD 2, KWD 3', () => {
  assert.is(minorDigits('JPY'), 0)
  assert.is(minorDigits('USD'), 2)
  assert.is(minorDigits('KWD'), 3)
  assert.is(formatMoney(1234, 'JPY', 'en-US'), '¥1,234')
  assert.is(formatMoney(1999, 'USD', 'en-US'), '$19.99')
  assert.is(formatMoney(1000, 'USD', 'en-US'), '$10.00')
})

test('formatMoney follows the locale and writes negative amounts', () => {
  assert.is(formatMoney(-12345, 'EUR', 'de-DE'), '-123,45\u00a0€')
  assert.is(formatMoney(-200, 'JPY', 'en-US'), '-¥200')
})

test.run()
