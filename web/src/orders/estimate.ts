// The price a customer can expect before sending: the relay's own pricing (shared/pricing.ts) and
// discount decision (shared/discount.ts) run on the device, against the customer's own receipts.
import { readerOver, sortTiers, type PastReception } from '../../../shared/discount.ts'
import { parseDuration } from '../../../shared/period.ts'
import { formatMoney, quote, unitPrice } from '../../../shared/pricing.ts'
import type { Catalog, DiscountDecision, DiscountRules, OrderItem, PriceLine, Product } from '../../../shared/schema.ts'
import type { OrderView } from './order-doc.ts'

export interface Estimate {
  lines: PriceLine[]
  total: number
  currency: string
  /** The lab's discount (off the prints). */
  discount: DiscountDecision | null
  /** The store's own discount (off its fee); null when it has none or the customer does not qualify. */
  frontDiscount: DiscountDecision | null
}

/**
 * Previous orders that count for the discount: received and accepted, not cancelled. An order
 * received in store and not yet by the relay counts as of its in-store stamp, which is how the
 * relay dates it when the stamp reaches it.
 */
export function receptionsOf(orders: OrderView[]): PastReception[] {
  const past: PastReception[] = []
  for (const order of orders) {
    const { receipt, spec, instore } = order
    if (spec.state === 'cancelled') continue
    const reception = receipt ? (receipt.status === 'accepted' ? receipt : null) : instore
    if (!reception) continue
    const receivedAt = new Date(reception.receivedAt)
    if (Number.isNaN(receivedAt.getTime())) continue
    past.push({ order: order.id, user: spec.user ?? '', front: spec.front ?? '', lab: reception.lab, receivedAt, seq: 0 })
  }
  return past
}

/**
 * The estimate for a draft as if received `now`, or null while the store or prints are missing.
 * Throws nothing: a catalog or item the pricing refuses gives null, and validation says why.
 */
export function estimate(catalog: Catalog, order: OrderView, history: PastReception[], user: string, now: Date): Estimate | null {
  const front = catalog.fronts.find((f) => f.id === order.spec.front)
  const lab = catalog.labs.find((l) => l.id === front?.lab)
  const items = order.spec.items.filter(isPriceable)
  if (!front || !lab || items.length === 0) return null
  try {
    const current = { order: order.id, user, front: front.id, lab: lab.id, receivedAt: now, seq: Number.MAX_SAFE_INTEGER }
    const own = history.filter((past) => past.user === user)
    // The relay's own pricing and both discounts, over the customer's receipts instead of its tables.
    const { lines, total, discount, frontDiscount } = quote({ items, front, lab, catalog, current, previous: (scope) => readerOver(own, scope, current) })
    return { lines, total, currency: catalog.currency, discount, frontDiscount }
  } catch {
    return null
  }
}

const isPriceable = (item: OrderItem) => Number.isSafeInteger(item.qty) && item.qty >= 1 && typeof item.product === 'string'

const UNITS: Array<[keyof ReturnType<typeof parseDuration>, string]> = [
  ['years', 'year'], ['months', 'month'], ['weeks', 'week'], ['days', 'day'], ['hours', 'hour'], ['minutes', 'minute'], ['seconds', 'second'],
]

/** `P7D` → "7 days", `P1M` → "1 month", `P1Y2M` → "1 year and 2 months". */
export function describePeriod(iso: string): string {
  let duration
  try { duration = parseDuration(iso) } catch { return iso }
  const parts = UNITS.filter(([field]) => duration[field] > 0).map(([field, unit]) => `${duration[field]} ${unit}${duration[field] === 1 ? '' : 's'}`)
  if (parts.length === 0) return iso
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`
}

const SCOPE_PHRASE: Record<DiscountRules['scope'], string> = {
  user: 'Order again',
  front: 'Order again at the same store',
  lab: 'Order again from the same lab',
}

/** The discount rules said plainly, shortest period first: "Order again within 7 days: ¥200 off". */
export function describeDiscounts(rules: DiscountRules, currency: string): string[] {
  return sortTiers(rules.tiers).map((tier) => `${SCOPE_PHRASE[rules.scope]} within ${describePeriod(tier.within)}: ${formatMoney(tier.amount, currency)} off`)
}

/** The price of one print of `product` at the lab behind `frontId`; the product's own price without a store. */
export function unitPriceAt(catalog: Catalog, product: Product, frontId: string | undefined): number {
  const front = catalog.fronts.find((f) => f.id === frontId)
  const lab = catalog.labs.find((l) => l.id === front?.lab)
  return lab ? unitPrice(product, lab) : product.price
}
