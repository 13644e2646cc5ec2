// ISO 8601 durations and calendar arithmetic in an IANA time zone, for the discount periods
// (SPEC.md "Relay configuration": months are calendar months in `timeZone`). Pure, no I/O.
//
// The window rule, used for every discount decision (isWithin below):
//   a previous reception counts iff  previous <= current  and  current <= addDuration(previous, within, tz).
// Both ends are inclusive: an order received exactly one period after the previous one still counts,
// one millisecond later it does not.
//
// addDuration follows Temporal's ZonedDateTime.add: the date part (years, months, weeks, days) moves the
// wall-clock date in the zone, clamping the day to the end of a shorter month and keeping the wall-clock
// time; a wall-clock time that falls in a spring-forward gap moves forward by the gap, one that occurs
// twice in a fall-back takes the earlier instant. The time part (hours, minutes, seconds) is then added
// as exact elapsed time.
//
// Consequence worth knowing: addDuration is not monotonic in its start. Month-end clamping keeps the
// time of day (30 Jan 23:00 + P1M = 28 Feb 23:00, but 31 Jan 10:00 + P1M = 28 Feb 10:00), and around a
// DST change a later instant can have an earlier wall clock. A later start ends earlier by less than a
// day plus one DST shift, and only when the starts are under four days apart.

export class PeriodError extends Error {
  override name = 'PeriodError'
}

export interface Duration { years: number; months: number; weeks: number; days: number; hours: number; minutes: number; seconds: number }

const DURATION_PATTERN = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/
const FIELDS = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'] as const

/** Parses `PnYnMnWnDTnHnMnS` with whole numbers; at least one part, and `T` only before a time part. */
export function parseDuration(iso: string): Duration {
  const match = typeof iso === 'string' ? DURATION_PATTERN.exec(iso) : null
  // The pattern alone accepts `P`, `PT` and `P1DT`: every part is optional.
  if (!match || iso === 'P' || iso.endsWith('T')) throw new PeriodError(`not an ISO 8601 duration: ${JSON.stringify(iso)}`)
  const duration = {} as Duration
  FIELDS.forEach((field, i) => {
    const value = Number(match[i + 1] ?? 0)
    if (!Number.isSafeInteger(value)) throw new PeriodError(`duration part too large in ${JSON.stringify(iso)}`)
    duration[field] = value
  })
  return duration
}

function toDuration(d: Duration | string): Duration {
  if (typeof d === 'string') return parseDuration(d)
  for (const field of FIELDS) {
    if (!Number.isSafeInteger(d[field])) throw new PeriodError(`duration ${field} must be a whole number, got ${String(d[field])}`)
  }
  return d
}

// ---------------------------------------------------------------- time zones via Intl

const formatters = new Map<string, Intl.DateTimeFormat>()

/** One formatter per zone: building one costs far more than using it. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (formatter) return formatter
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', era: 'short',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
  } catch {
    throw new PeriodError(`unknown time zone: ${JSON.stringify(timeZone)}`)
  }
  formatters.set(timeZone, formatter)
  return formatter
}

/** Throws PeriodError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  if (typeof timeZone !== 'string' || timeZone === '') throw new PeriodError(`unknown time zone: ${JSON.stringify(timeZone)}`)
  formatterFor(timeZone)
}

interface WallClock { year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number }

const DAY_MS = 86_400_000

/** Milliseconds since the epoch of a wall clock read as if it were UTC (no 0–99 → 1900s surprise). */
function wallAsUtc(w: WallClock): number {
  const date = new Date(0)
  date.setUTCFullYear(w.year, w.month - 1, w.day)
  date.setUTCHours(w.hour, w.minute, w.second, w.ms)
  return date.getTime()
}

function wallClockAt(epochMs: number, timeZone: string): WallClock {
  const fields: Record<string, string> = {}
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) fields[part.type] = part.value
  const year = Number(fields.year)
  return {
    year: fields.era === 'BC' || fields.era === 'B' ? 1 - year : year,
    month: Number(fields.month), day: Number(fields.day),
    hour: Number(fields.hour), minute: Number(fields.minute), second: Number(fields.second),
    ms: ((epochMs % 1000) + 1000) % 1000,
  }
}

/** The zone's offset from UTC at an instant, in milliseconds (Tokyo: +9 h). */
export function offsetAt(instant: Date | number, timeZone: string): number {
  const epochMs = typeof instant === 'number' ? instant : instant.getTime()
  return wallAsUtc(wallClockAt(epochMs, timeZone)) - epochMs
}

/**
 * The instant a wall clock names in a zone. Offsets are sampled a day either side, which covers every
 * real transition; of the candidates that read back as the same wall clock the earliest wins (fall-back),
 * and when none does the wall clock lies in a gap and the offset from before the gap carries it forward.
 */
function instantOf(wall: WallClock, timeZone: string): number {
  const local = wallAsUtc(wall)
  const before = offsetAt(local - DAY_MS, timeZone)
  const offsets = new Set([before, offsetAt(local, timeZone), offsetAt(local + DAY_MS, timeZone)])
  let earliest = Number.POSITIVE_INFINITY
  for (const offset of offsets) {
    const candidate = local - offset
    if (candidate + offsetAt(candidate, timeZone) === local && candidate < earliest) earliest = candidate
  }
  return Number.isFinite(earliest) ? earliest : local - before
}

// ---------------------------------------------------------------- calendar arithmetic

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysInMonth = (year: number, month: number) => (month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1])

function checkInstant(instant: Date): number {
  const epochMs = instant instanceof Date ? instant.getTime() : Number.NaN
  if (Number.isNaN(epochMs)) throw new PeriodError(`not a valid instant: ${String(instant)}`)
  return epochMs
}

/** `instant` plus `d`, the date part on the calendar of `timeZone`, the time part as elapsed time. */
export function addDuration(instant: Date, d: Duration | string, timeZone: string): Date {
  let epochMs = checkInstant(instant)
  const duration = toDuration(d)
  assertTimeZone(timeZone)
  const { years, months, weeks, days, hours, minutes, seconds } = duration
  // Only touch the wall clock when the date moves: a round trip through it would pull an instant in
  // the second pass of a fall-back hour back to the first.
  if (years !== 0 || months !== 0 || weeks !== 0 || days !== 0) {
    const wall = wallClockAt(epochMs, timeZone)
    const monthIndex = wall.year * 12 + (wall.month - 1) + years * 12 + months
    const year = Math.floor(monthIndex / 12)
    const month = monthIndex - year * 12 + 1
    const day = Math.min(wall.day, daysInMonth(year, month))
    // Weeks and days after the clamp, as Temporal does: 31 Jan + P1M1D = 1 Mar, not 3 Mar.
    const date = new Date(0)
    date.setUTCFullYear(year, month - 1, day + weeks * 7 + days)
    epochMs = instantOf({
      ...wall, year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(),
    }, timeZone)
  }
  epochMs += ((hours * 60 + minutes) * 60 + seconds) * 1000
  const result = new Date(epochMs)
  if (Number.isNaN(result.getTime())) throw new PeriodError(`date out of range: ${instant.toISOString()} + ${typeof d === 'string' ? d : JSON.stringify(d)}`)
  return result
}

/** The discount window (see the top of this file): previous <= current <= previous + within, both inclusive. */
export function isWithin(previous: Date, current: Date, within: Duration | string, timeZone: string): boolean {
  const previousMs = checkInstant(previous)
  const currentMs = checkInstant(current)
  if (previousMs > currentMs) return false
  return currentMs <= addDuration(previous, within, timeZone).getTime()
}

/**
 * Orders durations shortest first by adding each to 2001-01-01T00:00Z in UTC. Calendar periods have no
 * single length, so the reference fixes one: a January with no DST, where P1M is 31 days (after P4W and
 * P30D, level with P31D) and P1Y is 365 days. Equal lengths compare as 0, so a stable sort keeps the
 * configured order between them.
 */
export function compareDurations(a: Duration | string, b: Duration | string): number {
  return addDuration(REFERENCE, a, 'UTC').getTime() - addDuration(REFERENCE, b, 'UTC').getTime()
}

const REFERENCE = new Date(Date.UTC(2001, 0, 1))

/** compareDurations for discount tiers; `[...tiers].sort(compareTiers)` puts the shortest first. */
export function compareTiers(a: { within: string }, b: { within: string }): number {
  return compareDurations(a.within, b.within)
}
