// The repeat-order discount decision (SPEC.md "Relay configuration": scope, tiers shortest first, a
// fixed amount whatever the previous order cost). Pure: the relay feeds it from SQLite, tests directly.
//
// A tier holds when ANY eligible previous reception lies within its period, not only the most recent:
// month-end clamping and DST make period ends non-monotonic (see period.ts), so an older reception can
// hold a tier the most recent one misses. decide() reads the whole history (the reference); decideFrom()
// gets the same answer from a bounded read: the most recent reception, then per tier only the receptions
// received in the narrow band where a window's end can go backwards (spanBounds).
import { hasStarted, type DiscountDecision, type DiscountRules, type DiscountScope, type DiscountTier } from './schema.ts'
import { assertTimeZone, compareTiers, isWithin, parseDuration } from './period.ts'

/** A reception as the relay records it; `seq` orders receptions within one millisecond. */
export interface PastReception { order: string; user: string; front: string; lab: string; receivedAt: Date; seq: number }

/** The reception being decided: the same fields, since it joins the history once recorded. */
export type CurrentReception = PastReception

/** A string equal for two receptions iff they share the scope; for indexes and grouping. */
export function scopeKey(scope: DiscountScope, reception: Pick<PastReception, 'user' | 'front' | 'lab'>): string {
  switch (scope) {
    case 'user': return JSON.stringify(['user', reception.user])
    case 'front': return JSON.stringify(['front', reception.user, reception.front])
    case 'lab': return JSON.stringify(['lab', reception.user, reception.lab])
  }
}

/** Whether `previous` is in the current reception's scope: always the same user, then store or lab. */
export function inScope(scope: DiscountScope, previous: PastReception, current: CurrentReception): boolean {
  if (previous.user !== current.user) return false
  switch (scope) {
    case 'user': return true
    case 'front': return previous.front === current.front
    case 'lab': return previous.lab === current.lab
  }
}

/** The total order of receptions: by time, then by `seq` within one millisecond. */
export function isBefore(a: Pick<PastReception, 'receivedAt' | 'seq'>, b: Pick<PastReception, 'receivedAt' | 'seq'>): boolean {
  const at = a.receivedAt.getTime(), bt = b.receivedAt.getTime()
  return at < bt || (at === bt && a.seq < b.seq)
}

/** Whether `previous` may serve as the previous order: in scope, strictly earlier, another order. */
export function isEligible(scope: DiscountScope, previous: PastReception, current: CurrentReception): boolean {
  return previous.order !== current.order && inScope(scope, previous, current) && isBefore(previous, current)
}

/** The latest eligible previous reception, or null; the first row the relay fetches. */
export function mostRecentEligible(history: readonly PastReception[], current: CurrentReception, scope: DiscountScope): PastReception | null {
  let latest: PastReception | null = null
  for (const previous of history) {
    if (isEligible(scope, previous, current) && (latest === null || isBefore(latest, previous))) latest = previous
  }
  return latest
}

/** Tiers shortest period first; equal periods keep their configured order (Array#sort is stable). */
export function sortTiers(tiers: readonly DiscountTier[]): DiscountTier[] {
  return [...tiers].sort(compareTiers)
}

/**
 * The discount for `current` (the reference, over the whole history): the first tier, shortest first,
 * within whose period some eligible previous reception was received; the most recent such reception
 * is cited. Null for a first order or when no tier holds. Throws PeriodError for a bad `within` or
 * time zone, whether or not there is a previous reception, so bad rules show up at once.
 */
export function decide(
  history: readonly PastReception[], current: CurrentReception, rules: DiscountRules, timeZone: string,
): DiscountDecision | null {
  const tiers = checkedTiers(rules, timeZone)
  const eligible = history.filter((previous) => isEligible(rules.scope, previous, current))
  for (const tier of tiers) {
    let cited: PastReception | null = null
    for (const previous of eligible) {
      if ((cited === null || isBefore(cited, previous)) && isWithin(previous.receivedAt, current.receivedAt, tier.within, timeZone)) cited = previous
    }
    if (cited) return decision(cited, tier)
  }
  return null
}

function checkedTiers(rules: DiscountRules, timeZone: string): DiscountTier[] {
  assertTimeZone(timeZone)
  for (const tier of rules.tiers) parseDuration(tier.within)
  return sortTiers(rules.tiers)
}

const decision = (previous: PastReception, tier: DiscountTier): DiscountDecision =>
  ({ previousOrder: previous.order, previousReceivedAt: previous.receivedAt.toISOString(), within: tier.within, amount: tier.amount })

/** How the relay reads the customer's previous receptions in scope, strictly before the current one. */
export interface PreviousReader {
  /** The most recent eligible reception, or null (one indexed row). */
  latest(): PastReception | null
  /** Eligible receptions received at or after `fromMs`, most recent first (one bounded range of an index). */
  since(fromMs: number): PastReception[]
}

const DAY_MS = 86_400_000
/**
 * Bounds on how far `start + within` can lie from `start`, whatever the start and zone: a month is 28
 * to 31 days, a year 365 or 366, and a zone may shift its clock by up to a day (Samoa skipped a whole
 * day in 2011), so the calendar part gets a two-day margin each way. Times are elapsed exactly.
 */
export function spanBounds(within: string): { min: number; max: number } {
  const d = parseDuration(within)
  const time = ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000
  const calendar = d.years + d.months + d.weeks + d.days > 0
  const margin = calendar ? 2 : 0
  const maxDays = d.years * 366 + d.months * 31 + d.weeks * 7 + d.days + margin
  const minDays = Math.max(0, d.years * 365 + d.months * 28 + d.weeks * 7 + d.days - margin)
  return { min: minDays * DAY_MS + time, max: maxDays * DAY_MS + time }
}

/**
 * decide() from a bounded read. For each tier: the most recent reception holds it, or else only a
 * reception received after `current - max span` can (any earlier one ends before `current`), and
 * since the most recent one did not hold, those all lie in the band [current - max, current - min)
 * (a few days wide for months): the customer's own orders in that band, never the whole table.
 */
export function decideFrom(reader: PreviousReader, current: CurrentReception, rules: DiscountRules, timeZone: string): DiscountDecision | null {
  const tiers = checkedTiers(rules, timeZone)
  const latest = reader.latest()
  if (latest === null || !isEligible(rules.scope, latest, current)) return null
  for (const tier of tiers) {
    if (isWithin(latest.receivedAt, current.receivedAt, tier.within, timeZone)) return decision(latest, tier)
    const from = current.receivedAt.getTime() - spanBounds(tier.within).max
    if (latest.receivedAt.getTime() < from) continue
    const holder = reader.since(from).find((previous) =>
      isEligible(rules.scope, previous, current) && isWithin(previous.receivedAt, current.receivedAt, tier.within, timeZone))
    if (holder) return decision(holder, tier)
  }
  return null
}

/** A PreviousReader over a history in memory (the app's estimate; tests): the same answers as the relay's tables. */
export function readerOver(history: readonly PastReception[], scope: DiscountScope, current: CurrentReception): PreviousReader {
  const eligible = history.filter((previous) => isEligible(scope, previous, current))
  return {
    latest: () => mostRecentEligible(eligible, current, scope),
    since: (fromMs) => eligible.filter((p) => p.receivedAt.getTime() >= fromMs).sort((a, b) => (isBefore(a, b) ? 1 : isBefore(b, a) ? -1 : 0)),
  }
}

/** The rules a lab's charge is discounted by: the lab's own where it has them, else the catalog's. */
export function labRules(catalog: { discounts: DiscountRules }, lab: { discounts?: DiscountRules }): DiscountRules {
  return lab.discounts ?? catalog.discounts
}

/** A front's own rules for its fee, always scoped to that front; null when it has none (the fee is always charged). */
export function frontRules(front: { discounts?: DiscountRules }): DiscountRules | null {
  return front.discounts ? { ...front.discounts, scope: 'front' } : null
}

/** Whether a charge is large enough for `rules` to give anything (`minSubtotal`, 0 when absent). */
export function meetsMinimum(rules: DiscountRules, charge: number): boolean {
  return charge >= (rules.minSubtotal ?? 0)
}

// ---------------------------------------------------------------- cancelling a cited order
//
// The rule (README "Orders priced by the relay"): a cancelled order never gives a discount.
//   - When order A is cancelled, every accepted order whose discount cited A is priced again at
//     once: its discount is decided again from the orders that still qualify (another previous
//     order may still give one), and its receipt rewritten.
//   - So that a price never changes under a print, the customer may not cancel an order that an
//     order already being printed (or printed, ready, collected) cites as its previous order.

export type ReceptionStatus = 'accepted' | 'rejected' | 'cancelled'

/** A reception with what the cancel rule needs: its status, its discount, how far its lab got. */
export interface LedgerEntry extends PastReception {
  status: ReceptionStatus
  discount: DiscountDecision | null
  /** progress.status as last reported by its lab; null before the lab started. */
  progress: string | null
}

/** Only accepted receptions serve as previous orders: cancelled and rejected ones never count. */
export function qualifies(entry: Pick<LedgerEntry, 'status'>): boolean {
  return entry.status === 'accepted'
}

/** The sentence a customer is told when their cancel is refused because `citing` is printing. */
export function citedRefusal(citing: string): string {
  return `your order ${citing} got its repeat-order discount from this one and is already being printed, so this order can no longer be cancelled`
}

/** Why the customer may not cancel `order` (an order citing it has started printing), or null. */
export function refuseCancel(ledger: readonly LedgerEntry[], order: string): string | null {
  const started = ledger.find((entry) => qualifies(entry) && entry.discount?.previousOrder === order && hasStarted(entry.progress))
  return started ? citedRefusal(started.order) : null
}

/**
 * After `order` was cancelled: every accepted order whose discount cited it, with its discount
 * decided again from the receptions that still qualify. The relay does the same with one indexed
 * query per citing order (Receptions.citing and latestInScope).
 */
export function redecideAfterCancel(
  ledger: readonly LedgerEntry[], order: string, rules: DiscountRules, timeZone: string,
): Array<{ order: string; discount: DiscountDecision | null }> {
  const history = ledger.filter((entry) => qualifies(entry) && entry.order !== order)
  return ledger
    .filter((entry) => qualifies(entry) && entry.discount?.previousOrder === order)
    .map((entry) => ({ order: entry.order, discount: decide(history, entry, rules, timeZone) }))
}
