// The repeat-order discount decision (SPEC.md "Relay configuration": scope, tiers shortest first, a
// fixed amount whatever the previous order cost). Pure: the relay feeds it from SQLite, tests directly.
//
// Only the most recent eligible previous reception is looked at, so the relay can fetch that single row
// (`ORDER BY receivedAt DESC, seq DESC LIMIT 1` over inScope/isBefore) and get the same decision as from
// the whole history. Because month-end clamping and DST make period ends non-monotonic (see period.ts),
// an older reception can, in rare cases, hold a tier the most recent one misses; by this rule it does not count.
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

/** The latest eligible previous reception, or null; the one row the relay needs to fetch. */
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
 * The discount for `current`: the first tier, shortest first, whose window holds the most recent
 * eligible previous reception; null for a first order or when no tier holds. Throws PeriodError for a
 * bad `within` or time zone, whether or not there is a previous reception, so bad rules show up at once.
 */
export function decide(
  history: readonly PastReception[], current: CurrentReception, rules: DiscountRules, timeZone: string,
): DiscountDecision | null {
  assertTimeZone(timeZone)
  for (const tier of rules.tiers) parseDuration(tier.within)
  const tiers = sortTiers(rules.tiers)
  const previous = mostRecentEligible(history, current, rules.scope)
  if (previous === null) return null
  for (const tier of tiers) {
    if (isWithin(previous.receivedAt, current.receivedAt, tier.within, timeZone)) {
      return { previousOrder: previous.order, previousReceivedAt: previous.receivedAt.toISOString(), within: tier.within, amount: tier.amount }
    }
  }
  return null
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
