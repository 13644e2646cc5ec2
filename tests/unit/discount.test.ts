// The repeat-order discount decision (shared/discount.ts), one rule per test.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decide, inScope, mostRecentEligible, redecideAfterCancel, refuseCancel, scopeKey, type LedgerEntry, type PastReception } from '../../shared/discount.ts'
import { withDiscount } from '../../shared/pricing.ts'
import { PeriodError } from '../../shared/period.ts'
import type { DiscountRules, DiscountScope } from '../../shared/schema.ts'

const TZ = 'Asia/Tokyo'
// Configured longest first on purpose: the decision must not depend on configured order.
const rules = (scope: DiscountScope = 'user'): DiscountRules => ({ scope, tiers: [{ within: 'P1M', amount: 100 }, { within: 'P7D', amount: 200 }] })

let nextSeq = 1
function reception(order: string, receivedAt: string, more: Partial<PastReception> = {}): PastReception {
  return { order, user: 'u1', front: 'store-1', lab: 'lab-1', receivedAt: new Date(receivedAt), seq: nextSeq++, ...more }
}

const current = (receivedAt: string, more: Partial<PastReception> = {}) => reception('now', receivedAt, { seq: 1_000_000, ...more })

test('a first order pays in full: no previous reception, no discount', () => {
  assert.is(decide([], current('2026-03-10T12:00:00+09:00'), rules(), TZ), null)
})

test('a repeat within P7D gets the P7D tier, though P1M is configured first', () => {
  const previous = reception('o1', '2026-03-05T12:00:00+09:00')
  assert.equal(decide([previous], current('2026-03-10T12:00:00+09:00'), rules(), TZ), {
    previousOrder: 'o1', previousReceivedAt: '2026-03-05T03:00:00.000Z', within: 'P7D', amount: 200,
  })
})

test('a repeat after P7D but within P1M gets the P1M tier', () => {
  const decision = decide([reception('o1', '2026-02-20T12:00:00+09:00')], current('2026-03-10T12:00:00+09:00'), rules(), TZ)
  assert.is(decision?.within, 'P1M')
  assert.is(decision?.amount, 100)
})

test('a repeat exactly seven days later still gets the P7D tier; one millisecond later, P1M', () => {
  const previous = reception('o1', '2026-03-03T12:00:00+09:00')
  assert.is(decide([previous], current('2026-03-10T12:00:00+09:00'), rules(), TZ)?.within, 'P7D')
  assert.is(decide([previous], current('2026-03-10T12:00:00.001+09:00'), rules(), TZ)?.within, 'P1M')
})

test('a repeat outside every tier pays in full', () => {
  assert.is(decide([reception('o1', '2026-01-01T12:00:00+09:00')], current('2026-03-10T12:00:00+09:00'), rules(), TZ), null)
})

test('no tiers configured means no discount', () => {
  assert.is(decide([reception('o1', '2026-03-09T12:00:00+09:00')], current('2026-03-10T12:00:00+09:00'), { scope: 'user', tiers: [] }, TZ), null)
})

test('the amount is the tier\'s fixed amount, whatever the previous order cost (decision carries no price)', () => {
  const tiers = [{ within: 'P7D', amount: 5000 }]
  assert.is(decide([reception('o1', '2026-03-09T12:00:00+09:00')], current('2026-03-10T12:00:00+09:00'), { scope: 'user', tiers }, TZ)?.amount, 5000)
})

test('the most recent eligible previous reception decides, and the decision names it', () => {
  const history = [reception('older', '2026-02-20T12:00:00+09:00'), reception('newer', '2026-03-08T12:00:00+09:00')]
  const decision = decide(history, current('2026-03-10T12:00:00+09:00'), rules(), TZ)
  assert.is(decision?.previousOrder, 'newer')
  assert.is(decision?.within, 'P7D')
})

test('receptions after the current one are ignored', () => {
  const history = [reception('later', '2026-03-11T12:00:00+09:00')]
  assert.is(decide(history, current('2026-03-10T12:00:00+09:00'), rules(), TZ), null)
})

test('scope user: an order by the same user through another store and lab counts', () => {
  const previous = reception('o1', '2026-03-09T12:00:00+09:00', { front: 'store-2', lab: 'lab-2' })
  assert.is(decide([previous], current('2026-03-10T12:00:00+09:00'), rules('user'), TZ)?.previousOrder, 'o1')
})

test('scope user: another user\'s order never counts', () => {
  const previous = reception('o1', '2026-03-09T12:00:00+09:00', { user: 'u2' })
  assert.is(decide([previous], current('2026-03-10T12:00:00+09:00'), rules('user'), TZ), null)
})

test('scope front: only the same user\'s orders through the same store count', () => {
  const otherStore = reception('o1', '2026-03-09T12:00:00+09:00', { front: 'store-2' })
  const otherUser = reception('o2', '2026-03-09T13:00:00+09:00', { user: 'u2' })
  const sameStore = reception('o3', '2026-02-20T12:00:00+09:00')
  assert.is(decide([otherStore, otherUser], current('2026-03-10T12:00:00+09:00'), rules('front'), TZ), null)
  assert.is(decide([otherStore, otherUser, sameStore], current('2026-03-10T12:00:00+09:00'), rules('front'), TZ)?.previousOrder, 'o3')
})

test('scope lab: the same user\'s order printed by the same lab counts, through any store', () => {
  const sameLabOtherStore = reception('o1', '2026-03-09T12:00:00+09:00', { front: 'store-2' })
  assert.is(decide([sameLabOtherStore], current('2026-03-10T12:00:00+09:00'), rules('lab'), TZ)?.previousOrder, 'o1')
})

test('scope lab: an order printed by another lab does not count', () => {
  const otherLab = reception('o1', '2026-03-09T12:00:00+09:00', { lab: 'lab-2' })
  assert.is(decide([otherLab], current('2026-03-10T12:00:00+09:00'), rules('lab'), TZ), null)
})

test('two receptions in the same millisecond: the one with the lower seq is the earlier', () => {
  const instant = '2026-03-10T12:00:00+09:00'
  const before = reception('o1', instant, { seq: 7 })
  const after = reception('o2', instant, { seq: 9 })
  assert.is(decide([before, after], current(instant, { seq: 8 }), rules(), TZ)?.previousOrder, 'o1')
  assert.is(decide([after], current(instant, { seq: 8 }), rules(), TZ), null)
})

test('a reception in the same millisecond and lower seq gets the shortest tier', () => {
  const instant = '2026-03-10T12:00:00+09:00'
  assert.is(decide([reception('o1', instant, { seq: 1 })], current(instant, { seq: 2 }), rules(), TZ)?.within, 'P7D')
})

test('the current order never counts as its own previous order', () => {
  const ownEarlierReception = reception('now', '2026-03-09T12:00:00+09:00')
  assert.is(decide([ownEarlierReception], current('2026-03-10T12:00:00+09:00'), rules(), TZ), null)
})

test('the whole history and its most recent eligible reception alone give the same decision', () => {
  const now = current('2026-03-10T12:00:00+09:00')
  const history = [
    reception('o1', '2026-01-20T12:00:00+09:00'), reception('o2', '2026-02-25T12:00:00+09:00'),
    reception('o3', '2026-03-09T12:00:00+09:00', { user: 'u2' }), reception('o4', '2026-03-12T12:00:00+09:00'),
  ]
  const latest = mostRecentEligible(history, now, 'user')
  assert.is(latest?.order, 'o2')
  assert.equal(decide([latest!], now, rules(), TZ), decide(history, now, rules(), TZ))
})

test('an older reception that holds a tier the most recent one misses counts, and is the one cited (month-end clamp)', () => {
  // 30 Jan 23:00 + P1M = 28 Feb 23:00, but 31 Jan 10:00 + P1M = 28 Feb 10:00: see period.ts.
  const tiers = [{ within: 'P1M', amount: 100 }]
  const history = [reception('o1', '2026-01-30T23:00:00Z'), reception('o2', '2026-01-31T10:00:00Z')]
  assert.equal(decide(history, current('2026-02-28T12:00:00Z'), { scope: 'user', tiers }, 'UTC'),
    { previousOrder: 'o1', previousReceivedAt: '2026-01-30T23:00:00.000Z', within: 'P1M', amount: 100 })
})

test('a bad period in the rules is a PeriodError even for a first order', () => {
  const bad: DiscountRules = { scope: 'user', tiers: [{ within: '7 days', amount: 200 }] }
  assert.throws(() => decide([], current('2026-03-10T12:00:00+09:00'), bad, TZ), (error: unknown) => error instanceof PeriodError && error.message.includes('7 days'))
})

test('an unknown time zone is a PeriodError even for a first order', () => {
  assert.throws(() => decide([], current('2026-03-10T12:00:00+09:00'), rules(), 'Asia/Atlantis'), (error: unknown) => error instanceof PeriodError)
})

test('scopeKey is equal for two receptions exactly when they share the scope', () => {
  const a = reception('a', '2026-03-01T00:00:00Z')
  const variants = [a, { ...a, user: 'u2' }, { ...a, front: 'store-2' }, { ...a, lab: 'lab-2' }, { ...a, front: 'store-2', lab: 'lab-2' }]
  for (const scope of ['user', 'front', 'lab'] as const) {
    for (const b of variants) assert.is(scopeKey(scope, a) === scopeKey(scope, b), inScope(scope, b, a), `${scope} ${JSON.stringify(b)}`)
  }
})

// ---------------------------------------------------------------- cancelling a cited order

/** first (03-01), a (03-05), b (03-08, citing a), c (03-09, citing b) of one customer. */
function ledger(progressOfB: string | null = null): LedgerEntry[] {
  const entry = (order: string, at: string, cites: string | null, progress: string | null = null): LedgerEntry => {
    const base = reception(order, at)
    return { ...base, status: 'accepted', progress, discount: null, ...(cites ? { discount: { previousOrder: cites, previousReceivedAt: '', within: 'P7D', amount: 200 } } : {}) }
  }
  return [
    entry('first', '2026-03-01T12:00:00+09:00', null),
    entry('a', '2026-03-05T12:00:00+09:00', 'first'),
    entry('b', '2026-03-08T12:00:00+09:00', 'a', progressOfB),
    entry('c', '2026-03-09T12:00:00+09:00', 'b'),
  ]
}

test('cancelling an order re-decides only the orders citing it, from the orders that still qualify', () => {
  const entries = ledger()
  entries[1].status = 'cancelled'
  assert.equal(redecideAfterCancel(entries, 'a', rules(), TZ), [{
    order: 'b', discount: { previousOrder: 'first', previousReceivedAt: '2026-03-01T03:00:00.000Z', within: 'P7D', amount: 200 },
  }])
})

test('an order cited by nobody changes no price when cancelled', () => {
  assert.equal(redecideAfterCancel(ledger(), 'c', rules(), TZ), [])
})

test('the customer may not cancel an order cited by one at the printer, may while it is held or queued', () => {
  for (const progress of ['printing', 'printed', 'ready', 'collected']) assert.match(refuseCancel(ledger(progress), 'a') ?? '', /order b .*being printed/)
  for (const progress of [null, 'queued', 'held', 'failed']) assert.is(refuseCancel(ledger(progress), 'a'), null)
  assert.is(refuseCancel(ledger('printing'), 'first'), null, 'b cites a, not first')
})

test('a re-priced receipt: the old discount line replaced, clamped to the prints (the lab\'s charge), never into the fee', () => {
  const lines = [{ kind: 'print' as const, label: 'L × 2', amount: 80 }, { kind: 'fee' as const, label: 'fee', amount: 100 }, { kind: 'discount' as const, label: 'old', amount: -180 }]
  assert.equal(withDiscount(lines, null), { lines: lines.slice(0, 2), total: 180 })
  const again = withDiscount(lines, { previousOrder: 'x', previousReceivedAt: '', within: 'P1M', amount: 100 })
  assert.is(again.total, 100)
  assert.equal(again.lines.map((line) => line.amount), [80, 100, -80])
})

test.run()
