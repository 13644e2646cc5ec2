// The order-intake decision (relay/orders/decide.ts, fed the way intake.ts feeds it) against what
// intake did before the decision was pulled out of it: the old receive(), kept here verbatim but
// for the room reads and the discount, which is now decided from the whole history (any previous
// order within a period, issue 16) and comes off the print lines only. Random submissions (unreadable specs, unknown stores and products, other
// accounts' orders, photos missing, in-store stamps good and bad, with and without lab keys) over
// random histories of receptions, each side on its own SQLite database; the receptions recorded
// and the orders left waiting must be the same. Seeded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { decide } from '../../relay/orders/decide.ts'
import { judgeStamp } from '../../relay/orders/stamps.ts'
import { decide as decideDiscount } from '../../shared/discount.ts'
import { priceOrder } from '../../shared/pricing.ts'
import { validateSubmission } from '../../shared/validate.ts'
import { newKeyPair, signStamp, specDigest, type InStoreStamp } from '../../shared/signing.ts'
import type { OrderSpecReading } from '../../shared/order-spec.ts'
import type { Catalog, DiscountScope, OrderSpec } from '../../shared/schema.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { Receptions, type Reception, type StoreStampNote } from '../../relay/store/receptions.ts'
import { LabKeys, SqliteLabKeyRows } from '../../relay/store/lab-keys.ts'

const SEED = 20260414
const NUM_RUNS = 300
const MINUTE = 60_000
const BASE = Date.parse('2026-03-10T03:00:00.000Z')
const labKey = newKeyPair()
const strangerKey = newKeyPair()
const photo = (n: number) => String(n).repeat(64)

const catalogOf = (scope: DiscountScope, tiers: Array<{ within: string; amount: number }>): Catalog => ({
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L', widthMm: 89, heightMm: 127, media: 'm', price: 40 }, { id: '5x7', name: '2L', widthMm: 127, heightMm: 178, media: 'm', price: 120 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-a', name: 'A', price: { L: 35 } }, { id: 'lab-b', name: 'B', price: {} }],
  fronts: [
    { id: 'f1', name: 'One', lab: 'lab-a', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'f2', name: 'Two', lab: 'lab-a', fee: 0, roles: ['reception', 'delivery'] },
    { id: 'f3', name: 'Three', lab: 'lab-b', fee: 50, roles: ['reception', 'delivery'] },
  ],
  discounts: { scope, tiers },
})

interface Input {
  catalog: Catalog
  history: Array<{ user: string; front: string; lab: string; minutesAgo: number; status: 'accepted' | 'rejected' }>
  user: string
  reading: OrderSpecReading
  rawFront: unknown
  stamp: InStoreStamp | null
  withKeys: boolean
  uploaded: Set<string>
  /** When look() first noted the submission, minutes before now; null: not noted. */
  firstSightAgo: number | null
  nowMinutes: number
}

const ORDER = 'o-new'
const FRONTS = ['f1', 'f2', 'f3', 'f1', 'f2', 'f3', 'nowhere']

const inputArb: fc.Arbitrary<Input> = fc.record({
  scope: fc.constantFrom<DiscountScope>('user', 'front', 'lab'),
  tiers: fc.uniqueArray(fc.record({ within: fc.constantFrom('PT12H', 'P1D', 'P7D', 'P1M'), amount: fc.integer({ min: 1, max: 500 }) }), { minLength: 1, maxLength: 3, selector: (t) => t.within }),
  history: fc.array(fc.record({ user: fc.constantFrom('u0', 'u1'), front: fc.integer({ min: 0, max: 2 }), minutesAgo: fc.integer({ min: -600, max: 40 * 24 * 60 }), accepted: fc.boolean() }), { maxLength: 8 }),
  user: fc.constantFrom('u0', 'u1'),
  readable: fc.integer({ min: 0, max: 9 }),
  specUser: fc.constantFrom('owner', 'owner', 'owner', 'owner', 'other'),
  front: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...FRONTS) }, { weight: 1, arbitrary: fc.constant(42) }),
  items: fc.array(fc.record({ image: fc.integer({ min: 0, max: 3 }), product: fc.constantFrom('L', 'L', '5x7', 'L', '5x7', '5x7', 'L', 'A0'), qty: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 2 }),
  uploaded: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }).map((mask) => mask.map((up, i) => up || i % 2 === 0)),
  stamp: fc.constantFrom('none', 'good', 'good', 'stranger', 'otherSpec', 'otherLab'),
  stampAgo: fc.oneof(fc.integer({ min: -5, max: 3 * 24 * 60 }), fc.integer({ min: 7 * 24 * 60, max: 9 * 24 * 60 })),
  withKeys: fc.boolean(),
  firstSightAgo: fc.option(fc.integer({ min: 0, max: 3 * 24 * 60 })),
  nowMinutes: fc.integer({ min: 0, max: 60 }),
}).map((raw): Input => {
  const catalog = catalogOf(raw.scope, raw.tiers)
  const frontId = typeof raw.front === 'string' ? raw.front : 'f1'
  const lab = catalog.fronts.find((f) => f.id === frontId)?.lab ?? 'lab-a'
  const spec: OrderSpec = {
    id: ORDER, user: raw.specUser === 'owner' ? raw.user : 'someone-else', front: frontId, createdAt: '2026-03-01T00:00:00.000Z', state: 'submitted',
    items: raw.items.map((item) => ({ image: photo(item.image), product: item.product, qty: item.qty })),
  }
  const reading: OrderSpecReading = raw.readable === 0 ? { spec: null, problems: ['The order has no prints in it.'] } : { spec, problems: [] }
  const now = BASE + raw.nowMinutes * MINUTE
  const fields = { lab: raw.stamp === 'otherLab' ? 'lab-b' : lab, front: frontId, receivedAt: new Date(now - raw.stampAgo * MINUTE).toISOString(), spec: specDigest(raw.stamp === 'otherSpec' ? { ...spec, items: [] } : spec) }
  const stamp = raw.stamp === 'none' ? null : signStamp(ORDER, raw.user, fields, raw.stamp === 'stranger' ? strangerKey : labKey)
  return {
    catalog, user: raw.user, reading, rawFront: raw.front, stamp, withKeys: raw.withKeys,
    history: raw.history.map((h) => ({ user: h.user, front: catalog.fronts[h.front].id, lab: catalog.fronts[h.front].lab, minutesAgo: h.minutesAgo, status: h.accepted ? 'accepted' : 'rejected' })),
    uploaded: new Set([0, 1, 2, 3].filter((n) => raw.uploaded[n]).map(photo)),
    firstSightAgo: raw.firstSightAgo, nowMinutes: raw.nowMinutes,
  }
})

/** A relay's tables holding `input`'s history and lab key, with the submission noted by look(). */
async function tables(input: Input): Promise<{ receptions: Receptions; keys: LabKeys | undefined }> {
  const db = openDatabase(':memory:', RELAY_MIGRATIONS)
  const receptions = new Receptions(db)
  input.history.forEach((h, i) => receptions.record({
    order: `h${i}`, user: h.user, front: h.front, lab: h.lab, receivedAt: new Date(BASE - h.minutesAgo * MINUTE), status: h.status,
    error: null, lines: [], total: 0, currency: 'JPY', discount: null, storeStamp: null,
  }, []))
  const keys = new LabKeys(new SqliteLabKeyRows(db), () => BASE)
  await keys.register('lab-a', labKey.publicJwk)
  if (input.firstSightAgo !== null) receptions.awaitingSince(ORDER, input.user, new Date(BASE + (input.nowMinutes - input.firstSightAgo) * MINUTE))
  return { receptions, keys: input.withKeys ? keys : undefined }
}

type Outcome = { recorded: Reception | null; waiting: string[] }

/** intake.ts's receive() before decide.ts, from the room reads on. */
async function before(input: Input): Promise<Outcome> {
  const { receptions, keys } = await tables(input)
  const { catalog, user, reading, rawFront, stamp } = input
  const order = ORDER
  const outcome = (recorded: Reception | null): Outcome => ({ recorded, waiting: receptions.waitingOrders() })
  const spec = reading.spec
  const problems = spec === null ? reading.problems : validateSubmission(spec, catalog, user)
  const front = spec === null ? undefined : catalog.fronts.find((f) => f.id === spec.front)
  const lab = catalog.labs.find((l) => l.id === front?.lab)
  const now = receptions.clock(new Date(BASE + input.nowMinutes * MINUTE))
  if (spec !== null && problems.length === 0) {
    const images = [...new Set(spec.items.map((item) => item.image))]
    if (images.some((sha) => !input.uploaded.has(sha))) {
      receptions.awaitingSince(order, user, now)
      return outcome(null)
    }
  }
  const firstSeen = problems.length === 0 ? receptions.awaitingSince(order, user, now) : now
  let storeStamp: StoreStampNote | null = null
  let receivedAt = firstSeen
  if (stamp && spec && front && lab && keys) {
    const { at, ...note } = await judgeStamp(stamp, { order, user, front: front.id, lab: lab.id, spec: specDigest(spec) }, firstSeen, keys)
    storeStamp = note
    if (at) receivedAt = at
  }
  if (spec === null || problems.length > 0 || !front || !lab) {
    return outcome(receptions.record({
      order, user, front: typeof rawFront === 'string' ? rawFront.slice(0, 64) : '', lab: lab?.id ?? '', receivedAt, status: 'rejected',
      error: problems.join(' ') || 'The order cannot be taken.', lines: [], total: 0, currency: catalog.currency, discount: null, storeStamp,
    }, []))
  }
  const current = { order, user, front: front.id, lab: lab.id, receivedAt, seq: receptions.nextSeq() }
  // The whole accepted history (seq i + 1: the order tables() recorded it in), not one row.
  const history = input.history.flatMap((h, i) => h.status === 'accepted'
    ? [{ order: `h${i}`, user: h.user, front: h.front, lab: h.lab, receivedAt: new Date(BASE - h.minutesAgo * MINUTE), seq: i + 1 }] : [])
  const discount = decideDiscount(history, current, catalog.discounts, catalog.timeZone)
  const { lines, total } = priceOrder({ items: spec.items, front, lab, products: catalog.products, discount, currency: catalog.currency })
  return outcome(receptions.record({
    order, user, front: front.id, pickupFront: spec.front, lab: lab.id, receivedAt, status: 'accepted', error: null, lines, total, currency: catalog.currency, discount, storeStamp,
  }, spec.items.map((item) => item.image)))
}

/** The same through decide(), fed as intake.ts's submission() and receive() feed it. */
async function after(input: Input): Promise<Outcome> {
  const { receptions, keys } = await tables(input)
  const { catalog, user } = input
  const now = receptions.clock(new Date(BASE + input.nowMinutes * MINUTE))
  const stamp = keys ? input.stamp : null
  const images = input.reading.spec?.items.map((item) => item.image) ?? []
  const submission = {
    order: ORDER, user, reading: input.reading, rawFront: input.rawFront, stamp, catalog, now,
    stampKey: stamp && keys ? await keys.get(stamp.key) : null,
    uploaded: new Set(images.filter((sha) => input.uploaded.has(sha))),
    firstSeen: receptions.awaitingSince(ORDER, user, now),
    photoDeadline: new Date(now.getTime() + 7 * 24 * 60 * MINUTE),
    seq: receptions.nextSeq(),
  }
  const decision = decide(submission, (scope, current) => receptions.reader(scope, current))
  const recorded = decision.kind === 'waiting' ? null : receptions.record(decision.reception, decision.kind === 'accepted' ? decision.images : [])
  return { recorded, waiting: receptions.waitingOrders() }
}

test('decide() records what intake recorded before it, and leaves the same orders waiting', async () => {
  const seen = { accepted: 0, rejected: 0, waiting: 0, discounted: 0, stamped: 0 }
  await fc.assert(fc.asyncProperty(inputArb, async (input) => {
    const old = await before(input)
    assert.equal(await after(input), old)
    if (old.recorded === null) seen.waiting++
    else seen[old.recorded.status === 'accepted' ? 'accepted' : 'rejected']++
    if (old.recorded?.discount) seen.discounted++
    if (old.recorded?.storeStamp?.used) seen.stamped++
  }), { seed: SEED, numRuns: NUM_RUNS })
  // The generator reaches every kind of outcome, so the comparison covers each.
  for (const [kind, count] of Object.entries(seen)) assert.ok(count >= 10, `${kind}: only ${count} of ${NUM_RUNS} (${JSON.stringify(seen)})`)
})

test.run()
