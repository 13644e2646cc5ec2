// The order-intake decision (relay/orders/decide.ts), one rule per test, at a fixed clock: the demo
// catalog (JPY, Asia/Tokyo; L at 35 at demo-lab, demo-store's fee 100; P7D 200, P1M 100 off).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decide, fromHistory, receptionOf, type IntakeDecision, type Submission } from '../../relay/orders/decide.ts'
import { DEMO_CONFIG, parseConfig, publicCatalog } from '../../relay/config.ts'
import { newKeyPair, publicKeyOf, signStamp, specDigest } from '../../shared/signing.ts'
import type { PastReception } from '../../shared/discount.ts'
import type { OrderSpec } from '../../shared/schema.ts'
import type { LabKey } from '../../relay/store/lab-keys.ts'

const catalog = publicCatalog(parseConfig(DEMO_CONFIG))
const NOW = new Date('2026-03-10T03:00:00.000Z') // noon in Tokyo
const FIRST_SEEN = new Date('2026-03-10T02:59:00.000Z')
const photo = (n: number) => String(n).repeat(64).slice(0, 64)

const spec: OrderSpec = {
  id: 'o2', user: 'alice', front: 'demo-store', createdAt: '2026-03-10T02:58:00.000Z', state: 'submitted',
  items: [{ image: photo(1), product: 'L', qty: 2 }, { image: photo(2), product: '5x7', qty: 1 }],
}

function submission(more: Partial<Submission> = {}): Submission {
  return {
    order: 'o2', user: 'alice', reading: { spec, problems: [] }, rawFront: spec.front, stamp: null, stampKey: null,
    uploaded: new Set([photo(1), photo(2)]), catalog, now: NOW, firstSeen: FIRST_SEEN, photoDeadline: new Date('2026-03-17T02:59:00.000Z'), seq: 7, ...more,
  }
}

const previous = (receivedAt: string, more: Partial<PastReception> = {}): PastReception =>
  ({ order: 'o1', user: 'alice', front: 'demo-store', lab: 'demo-lab', receivedAt: new Date(receivedAt), seq: 3, ...more })

const NONE = fromHistory([])

function accepted(decision: IntakeDecision) {
  if (decision.kind !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(decision)}`)
  return decision.reception
}
function refused(decision: IntakeDecision) {
  if (decision.kind !== 'refused') throw new Error(`expected refused, got ${JSON.stringify(decision)}`)
  return decision.reception
}

test('a first order is accepted at its store\'s lab, priced at the lab\'s prices plus the store fee, dated when first seen', () => {
  const decision = decide(submission(), NONE)
  const reception = accepted(decision)
  assert.equal({ front: reception.front, lab: reception.lab, status: reception.status, error: reception.error, discount: reception.discount }, {
    front: 'demo-store', lab: 'demo-lab', status: 'accepted', error: null, discount: null,
  })
  assert.equal(reception.receivedAt, FIRST_SEEN)
  assert.equal(reception.lines.map((line) => [line.kind, line.amount]), [['print', 70], ['print', 120], ['fee', 100]])
  assert.is(reception.total, 290)
  assert.is(reception.currency, 'JPY')
  assert.equal(decision.kind === 'accepted' && decision.images, [photo(1), photo(2)])
})

test('an order whose photos are not all uploaded waits: nothing is refused or priced', () => {
  assert.equal(decide(submission({ uploaded: new Set([photo(1)]) }), NONE), { kind: 'waiting', missing: [photo(2)] })
  assert.is(receptionOf(submission({ uploaded: new Set() })), null)
})

test('photos still missing at the deadline (first sight + photoWait): refused, naming them', () => {
  const late = refused(decide(submission({ uploaded: new Set([photo(1)]), now: new Date('2026-03-17T02:59:00.000Z') }), NONE))
  assert.is(late.status, 'rejected')
  assert.match(late.error ?? '', photo(2))
  assert.not.match(late.error ?? '', photo(1))
  assert.equal(decide(submission({ uploaded: new Set([photo(1)]), now: new Date('2026-03-17T02:58:59.999Z') }), NONE), { kind: 'waiting', missing: [photo(2)] })
})

test('the discount: a previous order within P7D takes 200 off, within P1M 100, older none; never into the store\'s fee', () => {
  // Prints 190 and the fee 100: the P7D tier's 200 takes the prints to 0, the store still charges its 100.
  const table: Array<[string, number | null, number]> = [
    ['2026-03-05T03:00:00.000Z', 200, 100],
    ['2026-02-20T03:00:00.000Z', 100, 190],
    ['2026-01-20T03:00:00.000Z', null, 290],
  ]
  for (const [at, amount, total] of table) {
    const reception = accepted(decide(submission(), fromHistory([previous(at)])))
    assert.is(reception.discount?.amount ?? null, amount, at)
    assert.is(reception.total, total, at)
    if (amount !== null) assert.equal(reception.discount?.previousOrder, 'o1', at)
  }
})

test('a previous reception that is not eligible gives no discount: later, another customer\'s, or the order itself', () => {
  for (const other of [previous('2026-03-10T03:30:00.000Z'), previous('2026-03-08T03:00:00.000Z', { user: 'bob' }), previous('2026-03-08T03:00:00.000Z', { order: 'o2' })]) {
    assert.is(accepted(decide(submission(), fromHistory([other]))).discount, null, JSON.stringify(other))
  }
})

test('the reception the previous one is looked up by: the store, its lab, the first sight and the seq', () => {
  assert.equal(receptionOf(submission()), { order: 'o2', user: 'alice', front: 'demo-store', lab: 'demo-lab', receivedAt: FIRST_SEEN, seq: 7 })
})

test('a spec that cannot be read is refused with its problems, dated now, the front kept only when it is a string', () => {
  const reading = { spec: null, problems: ['The order has no prints in it.'] }
  const reception = refused(decide(submission({ reading, rawFront: 'demo-store' }), fromHistory([previous('2026-03-08T03:00:00.000Z')])))
  assert.equal({ status: reception.status, error: reception.error, front: reception.front, lab: reception.lab, total: reception.total, lines: reception.lines, discount: reception.discount }, {
    status: 'rejected', error: 'The order has no prints in it.', front: 'demo-store', lab: '', total: 0, lines: [], discount: null,
  })
  assert.equal(reception.receivedAt, NOW)
  assert.is(refused(decide(submission({ reading, rawFront: { evil: true } }), NONE)).front, '')
  assert.is(refused(decide(submission({ reading, rawFront: 'x'.repeat(100) }), NONE)).front.length, 64)
})

test('an order the catalog does not offer is refused, whether or not its photos are here', () => {
  const unknown = { ...spec, items: [{ image: photo(1), product: 'A0', qty: 1 }] }
  const reception = refused(decide(submission({ reading: { spec: unknown, problems: [] }, uploaded: new Set() }), NONE))
  assert.match(reception.error ?? '', /A0/)
  assert.is(reception.lab, 'demo-lab')
})

test('an order sent from an account that does not own it is refused', () => {
  assert.match(refused(decide(submission({ user: 'bob', reading: { spec, problems: [] } }), NONE)).error ?? '', /another account/)
})

const labKey = newKeyPair()
const registered: LabKey = { keyId: labKey.keyId, lab: 'demo-lab', publicKey: publicKeyOf(labKey.publicJwk)!, registeredAt: 0 }
const stampedAt = '2026-03-09T01:00:00.000Z'
const stamp = signStamp('o2', 'alice', { lab: 'demo-lab', front: 'demo-store', receivedAt: stampedAt, spec: specDigest(spec) }, labKey)

test('a good in-store stamp dates the reception, and the previous order is the one before the stamp', () => {
  const stamped = submission({ stamp, stampKey: registered })
  assert.equal(receptionOf(stamped)?.receivedAt, new Date(stampedAt))
  const reception = accepted(decide(stamped, fromHistory([previous('2026-03-02T03:00:00.000Z')])))
  assert.equal(reception.receivedAt, new Date(stampedAt))
  assert.equal(reception.storeStamp, { lab: 'demo-lab', receivedAt: stampedAt, used: true })
  assert.is(reception.discount?.within, 'P7D', 'seven days from the stamp, eight from the first sight')
})

test('a stamp with no registered key, or another key than the one it names, is noted and not used', () => {
  const other = newKeyPair()
  for (const stampKey of [null, { ...registered, keyId: other.keyId }]) {
    const reception = accepted(decide(submission({ stamp, stampKey }), NONE))
    assert.equal(reception.receivedAt, FIRST_SEEN)
    assert.is(reception.storeStamp?.used, false)
    assert.match(reception.storeStamp?.reason ?? '', /not registered/)
  }
})

test.run()
