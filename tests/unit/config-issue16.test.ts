// The configuration keys issue 16 adds (SPEC.md "Relay configuration"): limits.photoWait,
// labs[].discounts, fronts[].discounts (scope: that store), minSubtotal, fronts[].address, hours,
// payment; each refused with one line naming it when wrong, and shown in the public catalog.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEMO_CONFIG, parseConfig, publicCatalog } from '../../relay/config.ts'
import { ConfigError } from '../../shared/errors.ts'

const front = DEMO_CONFIG.fronts[0]
const withFront = (more: object) => ({ ...DEMO_CONFIG, fronts: [{ ...front, ...more }] })
const refused = (json: object, named: RegExp) =>
  assert.throws(() => parseConfig(json), (error: unknown) => error instanceof ConfigError && named.test(error.message))

test('limits.photoWait: P7D by default; any ISO 8601 duration above zero', () => {
  assert.is(parseConfig(DEMO_CONFIG).limits.photoWait, 'P7D')
  assert.is(parseConfig({ ...DEMO_CONFIG, limits: { photoWait: 'PT2S' } }).limits.photoWait, 'PT2S')
  for (const bad of ['7 days', 'P', 'PT0S', 604800, '']) refused({ ...DEMO_CONFIG, limits: { photoWait: bad } }, /limits\.photoWait/)
})

test('a store\'s own discount is for its own repeat customers: scope front (implied), minSubtotal a whole amount', () => {
  const config = parseConfig(withFront({ discounts: { tiers: [{ within: 'P1M', amount: 30 }], minSubtotal: 500 } }))
  assert.equal(config.fronts[0].discounts, { scope: 'front', tiers: [{ within: 'P1M', amount: 30 }], minSubtotal: 500 })
  refused(withFront({ discounts: { scope: 'user', tiers: [] } }), /fronts\[0\]\.discounts\.scope/)
  refused(withFront({ discounts: { tiers: [{ within: 'a week', amount: 30 }] } }), /fronts\[0\]\.discounts\.tiers\[0\]\.within/)
  refused({ ...DEMO_CONFIG, discounts: { ...DEMO_CONFIG.discounts, minSubtotal: -1 } }, /discounts\.minSubtotal/)
})

test('a lab\'s own discount rules replace the catalog\'s for its charge, and reach the catalog', () => {
  const labs = [{ ...DEMO_CONFIG.labs[0], discounts: { scope: 'lab', tiers: [{ within: 'P7D', amount: 50 }] } }]
  const catalog = publicCatalog(parseConfig({ ...DEMO_CONFIG, labs }))
  assert.equal(catalog.labs[0].discounts, { scope: 'lab', tiers: [{ within: 'P7D', amount: 50 }] })
  assert.not.ok('keyHash' in catalog.labs[0])
  refused({ ...DEMO_CONFIG, labs: [{ ...labs[0], discounts: { scope: 'store' } }] }, /labs\[0\]\.discounts\.scope/)
})

test('address, hours and payment: short strings, shown in the catalog', () => {
  const catalog = publicCatalog(parseConfig(withFront({ address: '1-2-3 Ekimae', hours: '10:00-20:00', payment: 'Pay at pickup' })))
  assert.equal([catalog.fronts[0].address, catalog.fronts[0].hours, catalog.fronts[0].payment], ['1-2-3 Ekimae', '10:00-20:00', 'Pay at pickup'])
  refused(withFront({ address: 'x'.repeat(501) }), /fronts\[0\]\.address: at most 500/)
  refused(withFront({ hours: 10 }), /fronts\[0\]\.hours/)
  refused(withFront({ payment: '' }), /fronts\[0\]\.payment/)
})

test.run()
