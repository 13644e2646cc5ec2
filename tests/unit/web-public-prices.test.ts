// The price list before signing up (web/src/session/public-prices.ts) reads the relay's public
// GET /api/prices answer (relay/http/prices.ts) into a catalog whose prices per store are the
// catalog's own: what the customer reads before signing up is what the store charges after.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { priceList } from '../../relay/http/prices.ts'
import type { Catalog } from '../../shared/schema.ts'
import { unitPriceAt } from '../../web/src/orders/estimate.ts'
import { readPriceList } from '../../web/src/session/public-prices.ts'

const catalog: Catalog = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [
    { id: 'L', name: 'L 89×127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
    { id: '2L', name: '2L 127×178 mm', widthMm: 127, heightMm: 178, media: 'na_5x7_5x7in', price: 90 },
  ],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', price: { L: 35 } }, { id: 'lab-2', name: 'Harbour lab', price: { '2L': 80 } }],
  fronts: [
    { id: 'station', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'], address: '1-2-3 Ekimae', hours: '10–19', payment: 'At the counter' },
    { id: 'harbour', name: 'Harbour store', lab: 'lab-2', fee: 0, roles: ['reception'] },
  ],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }] },
}

test('every store\'s price of every size before signing up is the catalog\'s', () => {
  const read = readPriceList(JSON.parse(JSON.stringify(priceList(catalog))))
  for (const front of catalog.fronts) {
    for (const product of catalog.products) {
      assert.is(unitPriceAt(read, read.products.find((p) => p.id === product.id)!, front.id), unitPriceAt(catalog, product, front.id), `${product.id} at ${front.id}`)
    }
  }
})

test('stores keep their fee, roles, address, hours and payment; the discounts come through', () => {
  const read = readPriceList(JSON.parse(JSON.stringify(priceList(catalog))))
  const station = read.fronts.find((f) => f.id === 'station')!
  assert.equal([station.fee, station.roles, station.address, station.hours, station.payment], [100, ['reception', 'delivery'], '1-2-3 Ekimae', '10–19', 'At the counter'])
  assert.is(read.fronts.find((f) => f.id === 'harbour')!.address, undefined)
  assert.equal(read.discounts.tiers, [{ within: 'P7D', amount: 200 }])
})

test('an answer missing parts reads as an empty list, never a crash', () => {
  const read = readPriceList({ products: [{ id: 'x' }], fronts: 'nope' })
  assert.equal([read.products, read.fronts, read.labs, read.discounts.tiers], [[], [], [], []])
})

test.run()
