// The query string of the admin listings: filters, ISO 8601 times (a bare date or a time without
// offset is read in the relay's time zone), page size and the opaque cursor. Anything unknown or
// malformed is a 400 naming the parameter.
import { BadRequestError } from '../../shared/errors.ts'
import { PAGE_DEFAULT, PAGE_MAX } from '../../shared/audit.ts'
import { addDuration, offsetAt } from '../../shared/period.ts'
import type { AuditFilter, Position } from '../../storage/audit-store.ts'
import { normalizeEmail } from '../store/accounts.ts'
import * as orderNumber from '../../shared/order-number.ts'

export type Param = keyof AuditFilter | 'limit' | 'after' | 'format'

export interface ListingQuery {
  filter: AuditFilter
  /** Rows wanted: a page for JSON, everything (or `limit`) for CSV. */
  limit: number
  after: Position | null
  format: 'json' | 'csv'
}

const MAX_VALUE = 200

/** Reads the parameters a listing allows; `cursorKind` binds a cursor to its listing. */
export function listingQuery(url: URL, allowed: readonly Param[], timeZone: string, cursorKind: string): ListingQuery {
  const params = known(url, allowed)
  const format = formatOf(params)
  const filter: AuditFilter = {}
  for (const name of ['lab', 'user', 'front', 'status', 'admin', 'action'] as const) {
    const value = params.get(name)
    if (!value) continue // an empty form field filters nothing
    if (value.length > MAX_VALUE) throw new BadRequestError(`${name}: longer than ${MAX_VALUE} characters`)
    filter[name] = value
  }
  const number = orderNumberOf(params.get('number'))
  if (number) filter.number = number
  const reprint = reprintOf(params.get('reprint'))
  if (reprint !== undefined) filter.reprint = reprint
  const email = params.get('email')
  if (email && email.length > MAX_VALUE) throw new BadRequestError(`email: longer than ${MAX_VALUE} characters`)
  if (email) filter.email = normalizeEmail(email) // as accounts store it: Ann@Example.com finds ann@example.com
  const since = params.get('since')
  const until = params.get('until')
  if (since) filter.since = parseInstant(since, timeZone, 'since')
  if (until) filter.until = parseInstant(until, timeZone, 'until')
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
    throw new BadRequestError('until must be later than since')
  }
  const limitText = params.get('limit')
  const max = format === 'csv' ? Number.MAX_SAFE_INTEGER : PAGE_MAX
  let limit = format === 'csv' ? Number.MAX_SAFE_INTEGER : PAGE_DEFAULT
  if (limitText) {
    limit = Number(limitText)
    if (!/^\d+$/.test(limitText) || !Number.isSafeInteger(limit) || limit < 1 || limit > max) {
      throw new BadRequestError(`limit: "${limitText}" is not a whole number from 1 to ${max}`)
    }
  }
  const afterText = params.get('after')
  const after = afterText ? decodeCursor(afterText, cursorKind) : null
  return { filter, limit, after, format }
}

/** `number=`, typed as people type it (k7m2, K7-M2); a malformed one is a 400 saying why. */
function orderNumberOf(text: string | undefined): string | undefined {
  if (!text) return undefined
  try {
    return orderNumber.parse(text)
  } catch (error) {
    if (error instanceof orderNumber.OrderNumberError) throw new BadRequestError(`number: ${error.message}`)
    throw error
  }
}

/** `reprint=true|false` as 1 or 0; empty filters nothing; anything else is a 400. */
function reprintOf(text: string | undefined): 0 | 1 | undefined {
  if (!text) return undefined
  if (text === 'true') return 1
  if (text === 'false') return 0
  throw new BadRequestError(`reprint: "${text.slice(0, 40)}" is neither true nor false`)
}

/** `format=json|csv`, json when absent. */
export function formatOf(params: Map<string, string>): 'json' | 'csv' {
  const format = params.get('format') || 'json'
  if (format !== 'json' && format !== 'csv') throw new BadRequestError(`format: "${format}" is neither json nor csv`)
  return format
}

/** Only the named parameters, each at most once. */
export function known(url: URL, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>()
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) throw new BadRequestError(`unknown parameter "${name}" (allowed: ${allowed.join(', ')})`)
    if (params.has(name)) throw new BadRequestError(`${name} given twice`)
    params.set(name, value)
  }
  return params
}

// ---------------------------------------------------------------- cursors

/** base64url JSON [listing, time, key]: opaque to clients, checked when it comes back. */
export function encodeCursor(kind: string, at: Position): string {
  return Buffer.from(JSON.stringify([kind, at.t, at.k])).toString('base64url')
}

function decodeCursor(text: string, kind: string): Position {
  let value: unknown
  try {
    value = text.length <= 1024 ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : null
  } catch {
    value = null
  }
  const [k, t, key] = Array.isArray(value) && value.length === 3 ? value : []
  // History entries and waiting orders are keyed by their ids; the rest by a number.
  const keyOk = kind === 'history' || kind === 'waiting' ? typeof key === 'string' : Number.isSafeInteger(key)
  if (k !== kind || !Number.isSafeInteger(t) || !keyOk) throw new BadRequestError(`after: not a cursor of the ${kind} listing`)
  return { t: t as number, k: key as number | string }
}

// ---------------------------------------------------------------- times

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * Epoch ms of an ISO 8601 date (midnight starting that day in `timeZone`) or date-time (with its
 * offset, else a wall clock in `timeZone`). Throws BadRequestError naming `name`.
 */
export function parseInstant(text: string, timeZone: string, name: string): number {
  const bad = () => new BadRequestError(`${name}: "${text.slice(0, 60)}" is not an ISO 8601 date or date-time (2024-05-01 or 2024-05-01T09:00:00Z)`)
  const m = DATE.exec(text) ?? DATE_TIME.exec(text)
  if (!m) throw bad()
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => (part === undefined ? 0 : Number(part)))
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms)
  const check = new Date(wall)
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw bad()
  const zone = m[8]
  if (zone === undefined) return zonedInstant(wall, timeZone)
  if (zone.toUpperCase() === 'Z') return wall
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!
  const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000
  if (Number(z[2]) > 23 || Number(z[3]) > 59) throw bad()
  return z[1] === '+' ? wall - offset : wall + offset
}

/** The instant a wall clock (given as if it were UTC) names in `timeZone`. */
function zonedInstant(wallAsUtc: number, timeZone: string): number {
  const guess = wallAsUtc - offsetAt(wallAsUtc, timeZone)
  return wallAsUtc - offsetAt(guess, timeZone)
}

const dayFormats = new Map<string, Intl.DateTimeFormat>()

/** `YYYY-MM-DD` of an instant in `timeZone`. */
export function dayOf(instant: number, timeZone: string): string {
  let format = dayFormats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    dayFormats.set(timeZone, format)
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]))
  return `${parts.year}-${parts.month}-${parts.day}`
}

/** The calendar days in `timeZone` that meet [since, until), each as [start, end) clipped to the range. */
export function daysBetween(since: number, until: number, timeZone: string, maxDays: number): Array<{ day: string; start: number; end: number }> {
  const days: Array<{ day: string; start: number; end: number }> = []
  let start = parseInstant(dayOf(since, timeZone), timeZone, 'since')
  while (start < until) {
    if (days.length === maxDays) throw new BadRequestError(`a daily report covers at most ${maxDays} days`)
    const end = addDuration(new Date(start), 'P1D', timeZone).getTime()
    days.push({ day: dayOf(start, timeZone), start: Math.max(start, since), end: Math.min(end, until) })
    start = end
  }
  return days
}
