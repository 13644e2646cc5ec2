// ISO 8601 durations and calendar arithmetic in a time zone (shared/period.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { addDuration, compareDurations, compareTiers, isWithin, offsetAt, parseDuration, PeriodError } from '../../shared/period.ts'

const at = (iso: string) => new Date(iso)
const iso = (date: Date) => date.toISOString()
const HOUR = 3_600_000
// uvu's assert.throws takes a predicate, not a class.
const isPeriodError = (error: unknown) => error instanceof PeriodError

// ---------------------------------------------------------------- parsing

test('parseDuration reads every part of PnYnMnWnDTnHnMnS', () => {
  assert.equal(parseDuration('P1Y2M3W4DT5H6M7S'), { years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 })
})

test('parseDuration tells months (P1M) from minutes (PT1M)', () => {
  assert.is(parseDuration('P1M').months, 1)
  assert.is(parseDuration('P1M').minutes, 0)
  assert.is(parseDuration('PT1M').minutes, 1)
  assert.is(parseDuration('PT1M').months, 0)
})

test('parseDuration accepts single parts and zero', () => {
  assert.is(parseDuration('P7D').days, 7)
  assert.is(parseDuration('PT12H').hours, 12)
  assert.is(parseDuration('P1W').weeks, 1)
  assert.is(parseDuration('P0D').days, 0)
})

for (const bad of ['P', 'PT', 'P1DT', '', '1D', 'P1.5D', 'P-1D', 'p1d', 'P1D1Y', 'PT1H1D', 'P1H', 'P 1D', 'P1DT1H ', 'P99999999999999999999D']) {
  test(`parseDuration rejects ${JSON.stringify(bad)} with a PeriodError naming it`, () => {
    assert.throws(() => parseDuration(bad), (error: unknown) => error instanceof PeriodError && error.message.includes(JSON.stringify(bad)))
  })
}

// ---------------------------------------------------------------- month ends

test('31 Jan + P1M is 28 Feb in a common year (Asia/Tokyo, 2025), same wall-clock time', () => {
  assert.is(iso(addDuration(at('2025-01-31T10:00:00+09:00'), 'P1M', 'Asia/Tokyo')), '2025-02-28T01:00:00.000Z')
})

test('31 Jan + P1M is 29 Feb in a leap year (Asia/Tokyo, 2024)', () => {
  assert.is(iso(addDuration(at('2024-01-31T10:00:00+09:00'), 'P1M', 'Asia/Tokyo')), '2024-02-29T01:00:00.000Z')
})

test('31 Jan + P1M is 29 Feb in Europe/Berlin in 2024 and 28 Feb in 2025', () => {
  assert.is(iso(addDuration(at('2024-01-31T10:00:00+01:00'), 'P1M', 'Europe/Berlin')), '2024-02-29T09:00:00.000Z')
  assert.is(iso(addDuration(at('2025-01-31T10:00:00+01:00'), 'P1M', 'Europe/Berlin')), '2025-02-28T09:00:00.000Z')
})

test('2100 is not a leap year: 31 Jan 2100 + P1M is 28 Feb (Europe/Berlin)', () => {
  assert.is(iso(addDuration(at('2100-01-31T12:00:00+01:00'), 'P1M', 'Europe/Berlin')), '2100-02-28T11:00:00.000Z')
})

test('the month is taken on the wall-clock date of the zone, not of UTC', () => {
  // 31 Jan 00:30 in Tokyo is still 30 Jan in UTC; the Tokyo date decides.
  assert.is(iso(addDuration(at('2025-01-31T00:30:00+09:00'), 'P1M', 'Asia/Tokyo')), iso(at('2025-02-28T00:30:00+09:00')))
})

test('29 Feb + P1Y is 28 Feb of the next year', () => {
  assert.is(iso(addDuration(at('2024-02-29T10:00:00+09:00'), 'P1Y', 'Asia/Tokyo')), iso(at('2025-02-28T10:00:00+09:00')))
})

test('days are added after the month is clamped: 31 Jan + P1M1D is 1 Mar', () => {
  assert.is(iso(addDuration(at('2025-01-31T10:00:00+09:00'), 'P1M1D', 'Asia/Tokyo')), iso(at('2025-03-01T10:00:00+09:00')))
})

test('P12M is the same as P1Y', () => {
  const start = at('2024-02-29T10:00:00+01:00')
  assert.is(iso(addDuration(start, 'P12M', 'Europe/Berlin')), iso(addDuration(start, 'P1Y', 'Europe/Berlin')))
})

// ---------------------------------------------------------------- DST

test('P1D across the spring-forward day keeps the wall-clock time (Europe/Berlin 2026-03-29, 23 h)', () => {
  const start = at('2026-03-28T12:00:00+01:00')
  const end = addDuration(start, 'P1D', 'Europe/Berlin')
  assert.is(iso(end), iso(at('2026-03-29T12:00:00+02:00')))
  assert.is(end.getTime() - start.getTime(), 23 * HOUR)
})

test('PT24H across the spring-forward day is 24 elapsed hours, not the same wall-clock time', () => {
  assert.is(iso(addDuration(at('2026-03-28T12:00:00+01:00'), 'PT24H', 'Europe/Berlin')), iso(at('2026-03-29T13:00:00+02:00')))
})

test('a wall-clock time in the spring-forward gap moves forward by the gap (Europe/Berlin 02:30 -> 03:30)', () => {
  assert.is(iso(addDuration(at('2026-03-28T02:30:00+01:00'), 'P1D', 'Europe/Berlin')), iso(at('2026-03-29T03:30:00+02:00')))
})

test('P1D across the fall-back day keeps the wall-clock time (Europe/Berlin 2026-10-25, 25 h)', () => {
  const start = at('2026-10-24T12:00:00+02:00')
  const end = addDuration(start, 'P1D', 'Europe/Berlin')
  assert.is(iso(end), iso(at('2026-10-25T12:00:00+01:00')))
  assert.is(end.getTime() - start.getTime(), 25 * HOUR)
})

test('a wall-clock time that occurs twice in the fall-back takes the earlier instant (Europe/Berlin 02:30 CEST)', () => {
  assert.is(iso(addDuration(at('2026-10-24T02:30:00+02:00'), 'P1D', 'Europe/Berlin')), iso(at('2026-10-25T02:30:00+02:00')))
})

test('an instant in the second pass of the repeated hour moves by whole days from its own wall clock', () => {
  assert.is(iso(addDuration(at('2026-10-25T02:30:00+01:00'), 'P1D', 'Europe/Berlin')), iso(at('2026-10-26T02:30:00+01:00')))
})

test('a duration with no date part never moves an instant in the repeated hour back to the first pass', () => {
  const secondPass = at('2026-10-25T02:30:00+01:00')
  assert.is(iso(addDuration(secondPass, 'P0D', 'Europe/Berlin')), iso(secondPass))
  assert.is(iso(addDuration(secondPass, 'PT1H', 'Europe/Berlin')), iso(at('2026-10-25T03:30:00+01:00')))
})

test('P1D across America/New_York spring forward keeps the time (2026-03-08, 23 h)', () => {
  assert.is(iso(addDuration(at('2026-03-07T12:00:00-05:00'), 'P1D', 'America/New_York')), iso(at('2026-03-08T12:00:00-04:00')))
})

test('America/New_York: 02:30 on the spring-forward day becomes 03:30 EDT', () => {
  assert.is(iso(addDuration(at('2026-03-07T02:30:00-05:00'), 'P1D', 'America/New_York')), iso(at('2026-03-08T03:30:00-04:00')))
})

test('America/New_York: 01:30 on the fall-back day is the earlier (EDT) instant', () => {
  assert.is(iso(addDuration(at('2026-10-31T01:30:00-04:00'), 'P1D', 'America/New_York')), iso(at('2026-11-01T01:30:00-04:00')))
})

test('P1W across a DST change keeps the wall-clock time (America/New_York, 2026-11-01)', () => {
  assert.is(iso(addDuration(at('2026-10-28T18:00:00-04:00'), 'P1W', 'America/New_York')), iso(at('2026-11-04T18:00:00-05:00')))
})

test('a 30-minute DST gap moves forward by 30 minutes (Australia/Lord_Howe 2026-10-04 02:15 -> 02:45)', () => {
  assert.is(iso(addDuration(at('2026-10-03T02:15:00+10:30'), 'P1D', 'Australia/Lord_Howe')), iso(at('2026-10-04T02:45:00+11:00')))
})

test('a month across DST in a +12:45/+13:45 zone keeps the wall-clock time (Pacific/Chatham)', () => {
  assert.is(iso(addDuration(at('2026-03-15T09:00:00+13:45'), 'P1M', 'Pacific/Chatham')), iso(at('2026-04-15T09:00:00+12:45')))
})

test('offsetAt gives the zone offset at an instant, fractional hours included', () => {
  assert.is(offsetAt(at('2026-01-15T00:00:00Z'), 'Asia/Tokyo'), 9 * HOUR)
  assert.is(offsetAt(at('2026-07-15T00:00:00Z'), 'Pacific/Chatham'), 12.75 * HOUR)
  assert.is(offsetAt(at('2026-07-15T00:00:00Z'), 'America/New_York'), -4 * HOUR)
})

// ---------------------------------------------------------------- the window

test('a previous reception exactly one period earlier is within the period (inclusive end)', () => {
  const previous = at('2026-01-31T15:00:00+09:00')
  assert.ok(isWithin(previous, at('2026-02-28T15:00:00+09:00'), 'P1M', 'Asia/Tokyo'))
})

test('one millisecond past the period is outside it', () => {
  const previous = at('2026-01-31T15:00:00+09:00')
  assert.not.ok(isWithin(previous, at('2026-02-28T15:00:00.001+09:00'), 'P1M', 'Asia/Tokyo'))
})

test('the boundary across a DST change is the wall-clock one, inclusive (Europe/Berlin P7D)', () => {
  const previous = at('2026-03-25T18:00:00+01:00')
  assert.ok(isWithin(previous, at('2026-04-01T18:00:00+02:00'), 'P7D', 'Europe/Berlin'))
  assert.not.ok(isWithin(previous, at('2026-04-01T18:00:00.001+02:00'), 'P7D', 'Europe/Berlin'))
})

test('a reception at the same instant is within any period', () => {
  const instant = at('2026-05-01T00:00:00Z')
  assert.ok(isWithin(instant, instant, 'PT1S', 'UTC'))
})

test('a "previous" reception after the current one is not within the period', () => {
  assert.not.ok(isWithin(at('2026-05-02T00:00:00Z'), at('2026-05-01T23:59:59.999Z'), 'P1Y', 'UTC'))
})

// ---------------------------------------------------------------- bad input and ordering

test('an unknown time zone is a PeriodError naming it', () => {
  assert.throws(() => addDuration(at('2026-01-01T00:00:00Z'), 'P1D', 'Mars/Olympus_Mons'), (error: unknown) => error instanceof PeriodError && /Mars\/Olympus_Mons/.test(error.message))
  assert.throws(() => isWithin(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 'P1D', ''), isPeriodError)
})

test('an invalid instant is a PeriodError', () => {
  assert.throws(() => addDuration(new Date(Number.NaN), 'P1D', 'UTC'), isPeriodError)
})

test('a Duration object with a fractional part is a PeriodError', () => {
  assert.throws(() => addDuration(at('2026-01-01T00:00:00Z'), { years: 0, months: 0, weeks: 0, days: 1.5, hours: 0, minutes: 0, seconds: 0 }, 'UTC'), isPeriodError)
})

test('tiers sort shortest first: PT12H, P1D, P1W, P30D, P1M, P2M, P1Y', () => {
  const withins = ['P1Y', 'P1M', 'PT12H', 'P2M', 'P1W', 'P30D', 'P1D']
  const sorted = withins.map((within) => ({ within })).sort(compareTiers).map((tier) => tier.within)
  assert.equal(sorted, ['PT12H', 'P1D', 'P1W', 'P30D', 'P1M', 'P2M', 'P1Y'])
})

test('P1M and P31D are equally long against the January reference, so configured order decides', () => {
  assert.is(compareDurations('P1M', 'P31D'), 0)
  assert.is(compareDurations('P1M', 'P4W') > 0, true)
})

test.run()
