// Discounts at two levels and pickup elsewhere (issue 16 point 2), against a real relay: the lab's
// rule comes off the prints and never the store's fee, a store's own rule off its fee only, a rule's
// minSubtotal, an older order whose month window ends later still qualifies, an order collected at
// another store; and the public price list.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { customer, finalReceipt, submitOrder, Testbed, type Customer } from '../helpers/orders.ts'

const CONFIG = {
  currency: 'JPY', timeZone: 'UTC',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: { L: 35 } },
    { id: 'lab-2', name: 'North lab', key: 'lab-2-secret', price: {}, discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 50 }], minSubtotal: 100 } }],
  fronts: [
    { id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'], address: '1-2-3 Ekimae', hours: '10:00-20:00', payment: 'Pay at pickup' },
    { id: 'store-2', name: 'Mall store', lab: 'lab-1', fee: 120, roles: ['reception', 'delivery'], discounts: { tiers: [{ within: 'P1M', amount: 30 }] } },
    { id: 'store-3', name: 'North store', lab: 'lab-2', fee: 50, roles: ['reception'] },
    { id: 'kiosk', name: 'Kiosk', lab: 'lab-1', fee: 0, roles: ['reception'] },
  ],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

const bed = new Testbed()
const opened = bed.opened
test.after.each(() => bed.closeEach())
test.after(() => bed.removeDirs())

const relayAt = (clock: string, dataDir?: string) => bed.start(CONFIG, { dataDir, env: { LABSYNC_TEST_CLOCK: clock } })
const stop = (relay: RelayProcess) => bed.down(relay)

const shape = (lines: Array<{ kind: string; amount: number; by?: string }>) => lines.map((l) => [l.kind, l.by ?? null, l.amount])

async function order(relay: RelayProcess, me: Customer, opts: Parameters<typeof submitOrder>[3] = {}) {
  const { doc, orderId } = await submitOrder(relay, me, opened, opts)
  return { orderId, receipt: await finalReceipt(doc) }
}

test('the lab\'s rule comes off the prints, never the store\'s fee; the receipt names who gave it', async () => {
  const relay = await relayAt('2026-03-02T09:00:00Z')
  const me = await customer(relay, 'Hanako')
  await order(relay, me)
  const { receipt } = await order(relay, me)
  assert.equal(shape(receipt.lines), [['print', null, 70], ['fee', null, 100], ['discount', 'lab', -70]], 'the 200 is clamped to the prints (70)')
  assert.is(receipt.total, 100, 'the fee is charged in full')
  assert.match(receipt.lines[2].label, /Central lab/)
  assert.is(receipt.name, 'Hanako', 'the customer\'s name from the account')
  assert.is(receipt.frontDiscount, undefined, 'a store without its own rule gives nothing on its fee')
})

test('a store\'s own rule lowers only its fee; the lab\'s discount stays the lab\'s', async () => {
  const relay = await relayAt('2026-03-02T09:00:00Z')
  const me = await customer(relay)
  await order(relay, me, { front: 'store-2', items: [{ image: me.photo, product: 'L', qty: 10 }] })
  const { receipt } = await order(relay, me, { front: 'store-2', items: [{ image: me.photo, product: 'L', qty: 10 }] })
  assert.equal(shape(receipt.lines), [['print', null, 350], ['fee', null, 120], ['discount', 'lab', -200], ['discount', 'front', -30]])
  assert.is(receipt.total, 240)
  assert.is(receipt.frontDiscount?.within, 'P1M')
  assert.match(receipt.lines[3].label, /Mall store/)
})

test('minSubtotal: a lab charge under it gets nothing from that rule, one at or above it does', async () => {
  const relay = await relayAt('2026-03-02T09:00:00Z')
  const me = await customer(relay)
  await order(relay, me, { front: 'store-3' })
  const small = await order(relay, me, { front: 'store-3', items: [{ image: me.photo, product: 'L', qty: 2 }] })
  assert.is(small.receipt.discount, null, '80 is under lab-2\'s minSubtotal of 100')
  assert.is(small.receipt.total, 130)
  const enough = await order(relay, me, { front: 'store-3', items: [{ image: me.photo, product: 'L', qty: 3 }] })
  assert.is(enough.receipt.discount?.amount, 50, '120 reaches it; lab-2\'s own rules, not the catalog\'s')
  assert.is(enough.receipt.total, 120 - 50 + 50)
})

test('pickup at another store: carried on the receipt and the lab\'s queue entry; a store that does not hand over is refused', async () => {
  const relay = await relayAt('2026-03-02T09:00:00Z')
  const me = await customer(relay)
  const { orderId, receipt } = await order(relay, me, { front: 'kiosk', pickupFront: 'store-1' })
  assert.is(receipt.status, 'accepted')
  assert.is(receipt.pickupFront, 'store-1')
  const lab = connect(relay, 'lab/lab-1', 'lab-1-secret')
  opened.push(lab.provider)
  const entry = await waitFor(() => lab.doc.getMap('queue').get(orderId) as { front: string; pickupFront?: string } | undefined, 'the queue entry')
  assert.equal([entry.front, entry.pickupFront], ['kiosk', 'store-1'])
  const refused = await order(relay, me, { front: 'store-1', pickupFront: 'kiosk' })
  assert.is(refused.receipt.status, 'rejected')
  assert.match(refused.receipt.error ?? '', /Kiosk does not hand orders over/)
  const plain = await order(relay, me)
  assert.is(plain.receipt.pickupFront, 'store-1', 'without one, the reception store')
  const listed = await (await fetch(`${relay.url}/api/admin/receipts?format=csv`, { headers: { authorization: 'Bearer admin-secret' } })).text()
  assert.match(listed, new RegExp(`${orderId}.*kiosk.*store-1`), 'the CSV shows both stores')
})

test('the older-order case: an order whose month window ends later than the most recent one\'s still gives the tier', async () => {
  // 30 Jan 23:00 + P1M = 28 Feb 23:00; 31 Jan 10:00 + P1M = 28 Feb 10:00 (month-end clamping keeps the time of day).
  const dir = bed.newDir()
  let relay = await relayAt('2026-01-30T23:00:00Z', dir)
  const me = await customer(relay)
  const older = await order(relay, me)
  await stop(relay)
  relay = await relayAt('2026-01-31T10:00:00Z', dir)
  await order(relay, me)
  await stop(relay)
  relay = await relayAt('2026-02-28T12:00:00Z', dir)
  const { receipt } = await order(relay, me)
  assert.is(receipt.discount?.within, 'P1M')
  assert.is(receipt.discount?.previousOrder, older.orderId, 'the older order, whose window still holds')
})

test('GET /api/prices: anyone, no token; products, stores with address, hours, payment and rules; no secrets', async () => {
  const relay = await relayAt('2026-03-02T09:00:00Z')
  const res = await fetch(`${relay.url}/api/prices`)
  assert.is(res.status, 200)
  const text = await res.text()
  assert.not.match(text, /secret|lab-1|lanUrl/, 'no keys, lab ids or LAN addresses')
  const prices = JSON.parse(text)
  assert.is(prices.currency, 'JPY')
  assert.equal(prices.products.map((p: { id: string; price: number }) => [p.id, p.price]), [['L', 40]])
  const station = prices.fronts.find((f: { id: string }) => f.id === 'store-1')
  assert.equal([station.fee, station.address, station.hours, station.payment, station.labPrices.L], [100, '1-2-3 Ekimae', '10:00-20:00', 'Pay at pickup', 35])
  assert.equal(prices.fronts.find((f: { id: string }) => f.id === 'store-2').discounts.tiers, [{ within: 'P1M', amount: 30 }])
  assert.is(prices.fronts.find((f: { id: string }) => f.id === 'store-3').labDiscounts.minSubtotal, 100)
  assert.is((await fetch(`${relay.url}/api/prices`, { method: 'POST' })).status, 405)
})

test.run()
