// Price lines for a receipt (SPEC.md "Relay configuration": lab price over product price, the store's
// fee as its own line, a total never below zero), and money formatting. Amounts are integer minor units.
import type { Catalog, DiscountDecision, DiscountRules, DiscountScope, Front, LabInfo, OrderItem, PriceLine, Product } from './schema.ts'
import { decideFrom, frontRules, labRules, meetsMinimum, type CurrentReception, type PreviousReader } from './discount.ts'

export class PricingError extends Error {
  override name = 'PricingError'
}

export interface PricingInput {
  items: readonly OrderItem[]
  front: Front
  lab: LabInfo
  products: readonly Product[]
  /** The lab's discount (catalog or labs[].discounts): comes off the print lines only. */
  discount: DiscountDecision | null
  /** The store's own discount (fronts[].discounts): comes off its fee only. */
  frontDiscount?: DiscountDecision | null
  currency: string
}

/** A non-negative whole number of minor units; anything else would make the lines not add up. */
function checkAmount(amount: unknown, what: string): number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new PricingError(`${what} must be a whole, non-negative amount in minor units, got ${String(amount)}`)
  }
  return amount
}

/** The price of one print of `product` at `lab`: the lab's own price where it has one (0 included). */
export function unitPrice(product: Product, lab: LabInfo): number {
  if (Object.hasOwn(lab.price, product.id)) return checkAmount(lab.price[product.id], `lab ${lab.id}'s price for ${product.id}`)
  return checkAmount(product.price, `the price of ${product.id}`)
}

/** One `print` line per item, before any discount: the lab's charge is their sum. */
export function printLines(items: readonly OrderItem[], lab: LabInfo, products: readonly Product[]): PriceLine[] {
  const byId = new Map(products.map((product) => [product.id, product]))
  const lines: PriceLine[] = []
  for (const item of items) {
    const product = byId.get(item.product)
    if (!product) throw new PricingError(`unknown product: ${JSON.stringify(item.product)}`)
    if (!Number.isSafeInteger(item.qty) || item.qty < 1) throw new PricingError(`quantity of ${product.id} must be a whole number of at least 1, got ${String(item.qty)}`)
    const amount = unitPrice(product, lab) * item.qty
    if (!Number.isSafeInteger(amount)) throw new PricingError(`amount for ${product.id} × ${item.qty} is too large`)
    lines.push({ kind: 'print', label: `${product.name} × ${item.qty}`, amount })
  }
  return lines
}

/** The lab's charge: what its print lines add up to (what the minSubtotal of its rules is compared with). */
export function labCharge(lines: readonly PriceLine[]): number {
  return sum(lines.filter((line) => line.kind === 'print'))
}

/** The store's charge before its own discount: its fee line, 0 without one. */
export function feeCharge(lines: readonly PriceLine[]): number {
  return sum(lines.filter((line) => line.kind === 'fee'))
}

/**
 * One `print` line per item, the front's fee, then the discounts: the lab's (clamped to the print
 * lines) and the store's (clamped to its fee), each its own line naming who gave it. Neither reaches
 * into the other's charge, and a discount clamped to nothing gets no line (the receipt still records
 * the decision).
 */
export function priceOrder(input: PricingInput): { lines: PriceLine[]; total: number } {
  const { items, front, lab, products, discount, frontDiscount = null, currency } = input
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new PricingError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`)
  const lines = printLines(items, lab, products)
  const fee = checkAmount(front.fee, `the fee of ${front.id}`)
  if (fee > 0) lines.push({ kind: 'fee', label: `${front.name} service fee`, amount: fee })
  return withDiscount(lines, discount, frontDiscount, { lab: lab.name, front: front.name })
}

/** Who gave each discount, as its line names them; generic words when the names are not at hand. */
export interface Givers { lab: string; front: string }

/**
 * The lines with `discount` (the lab's) and `frontDiscount` (the store's) in place of any discount
 * lines they had: what an order costs when its discounts are decided again (a previous order was
 * cancelled) without pricing its prints anew. Each is clamped to its own charge, as priceOrder does.
 */
export function withDiscount(
  priced: readonly PriceLine[], discount: DiscountDecision | null, frontDiscount: DiscountDecision | null = null, givers?: Givers,
): { lines: PriceLine[]; total: number } {
  const lines = priced.filter((line) => line.kind !== 'discount')
  const named = givers ?? { lab: 'the lab', front: 'the store' }
  if (discount) {
    const applied = Math.min(checkAmount(discount.amount, 'the discount'), labCharge(lines))
    if (applied > 0) lines.push({ kind: 'discount', by: 'lab', label: `Repeat-order discount from ${named.lab} (previous order within ${discount.within})`, amount: -applied })
  }
  if (frontDiscount) {
    const applied = Math.min(checkAmount(frontDiscount.amount, 'the store\'s discount'), feeCharge(lines))
    if (applied > 0) lines.push({ kind: 'discount', by: 'front', label: `Repeat-customer discount from ${named.front} on its fee (previous order within ${frontDiscount.within})`, amount: -applied })
  }
  const total = sum(lines)
  if (!Number.isSafeInteger(total)) throw new PricingError('order total is too large')
  return { lines, total }
}

/** What an order costs and why: its lines, total and both discount decisions. */
export interface Quote { lines: PriceLine[]; total: number; discount: DiscountDecision | null; frontDiscount: DiscountDecision | null }

export interface QuoteInput {
  items: readonly OrderItem[]
  front: Front
  lab: LabInfo
  catalog: Pick<Catalog, 'products' | 'currency' | 'discounts' | 'timeZone'>
  current: CurrentReception
  /** The customer's previous receptions in a scope, strictly before `current` (Receptions on the relay, readerOver in the app). */
  previous: (scope: DiscountScope) => PreviousReader
}

/**
 * The whole price of an order as the relay receives it and the app estimates it (one function, so
 * the two agree to the yen): the prints at the lab's prices, the store's fee, then both discounts
 * (rediscount).
 */
export function quote(input: QuoteInput): Quote {
  const { items, front, lab, catalog } = input
  const lines = printLines(items, lab, catalog.products)
  const fee = checkAmount(front.fee, `the fee of ${front.id}`)
  if (fee > 0) lines.push({ kind: 'fee', label: `${front.name} service fee`, amount: fee })
  return rediscount(lines, input)
}

/**
 * Both discounts of an order decided (again) over its priced lines: the lab's rules (labs[].discounts,
 * else the catalog's) deduct from the lab's charge, the store's own (fronts[].discounts) from its fee;
 * a rule gives nothing when the lab's charge is under its `minSubtotal`. Also what an order costs
 * when a previous order it cited is cancelled: its prints and fee stay as priced.
 */
export function rediscount(priced: readonly PriceLine[], input: Omit<QuoteInput, 'items'>): Quote {
  const { front, lab, catalog, current, previous } = input
  if (typeof catalog.currency !== 'string' || !/^[A-Z]{3}$/.test(catalog.currency)) throw new PricingError(`not an ISO 4217 currency code: ${JSON.stringify(catalog.currency)}`)
  const charge = labCharge(priced)
  const decideBy = (rules: DiscountRules | null) =>
    rules && meetsMinimum(rules, charge) ? decideFrom(previous(rules.scope), current, rules, catalog.timeZone) : null
  const discount = decideBy(labRules(catalog, lab))
  const frontDiscount = decideBy(frontRules(front))
  return { ...withDiscount(priced, discount, frontDiscount, { lab: lab.name, front: front.name }), discount, frontDiscount }
}

const sum = (lines: readonly PriceLine[]) => lines.reduce((total, line) => total + line.amount, 0)

/** The number of minor-unit digits of a currency (JPY 0, EUR 2, KWD 3), as Intl knows it. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  } catch {
    throw new PricingError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`)
  }
}

/** `amount` minor units as the locale writes money: formatMoney(12345, 'EUR', 'de-DE') = '123,45 €'. */
export function formatMoney(amount: number, currency: string, locale?: string): string {
  const digits = minorDigits(currency)
  return new Intl.NumberFormat(locale, {
    style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(amount / 10 ** digits)
}
