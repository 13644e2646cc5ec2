// Price lines for a receipt (SPEC.md "Relay configuration": lab price over product price, the store's
// fee as its own line, a total never below zero), and money formatting. Amounts are integer minor units.
import type { DiscountDecision, Front, LabInfo, OrderItem, PriceLine, Product } from './schema.ts'

export class PricingError extends Error {
  override name = 'PricingError'
}

export interface PricingInput {
  items: readonly OrderItem[]
  front: Front
  lab: LabInfo
  products: readonly Product[]
  discount: DiscountDecision | null
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

/**
 * One `print` line per item, the front's fee, then the discount. The discount line is clamped to the
 * subtotal so the total never goes below zero and the lines always add up to it exactly; a discount
 * clamped to nothing gets no line (the receipt still records the decision).
 */
export function priceOrder(input: PricingInput): { lines: PriceLine[]; total: number } {
  const { items, front, lab, products, discount, currency } = input
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new PricingError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`)
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
  const fee = checkAmount(front.fee, `the fee of ${front.id}`)
  if (fee > 0) lines.push({ kind: 'fee', label: `${front.name} service fee`, amount: fee })
  return withDiscount(lines, discount)
}

/**
 * The lines with `discount` in place of any discount line they had: what an order costs when its
 * discount is decided again (its previous order was cancelled) without pricing its prints anew.
 * The discount is clamped to the prints and fee, as priceOrder does.
 */
export function withDiscount(priced: readonly PriceLine[], discount: DiscountDecision | null): { lines: PriceLine[]; total: number } {
  const lines = priced.filter((line) => line.kind !== 'discount')
  const subtotal = sum(lines)
  if (discount) {
    const applied = Math.min(checkAmount(discount.amount, 'the discount'), subtotal)
    if (applied > 0) lines.push({ kind: 'discount', label: `Repeat-order discount (previous order within ${discount.within})`, amount: -applied })
  }
  const total = sum(lines)
  if (!Number.isSafeInteger(total)) throw new PricingError('order total is too large')
  return { lines, total }
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
