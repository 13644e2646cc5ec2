// What a new print or a new order starts with before the customer chooses: people tend to order
// alike, so the last choice wins over the catalog's first entry. Pure functions of the catalog
// and the orders on this device.
import type { Catalog, OrderItem } from '../../../shared/schema.ts'
import type { OrderView } from './order-doc.ts'

/** Size and frame for new prints: those of the draft's last print, else the first size and the plain frame. */
export function printDefaults(catalog: Catalog, items: OrderItem[]): Pick<OrderItem, 'product' | 'template'> {
  const last = items[items.length - 1]
  const product = last?.product ?? catalog.products[0]?.id
  const template = last?.template ?? catalog.templates.find((t) => t.id === 'plain')?.id ?? catalog.templates[0]?.id
  return { product, template }
}

/** New prints of `images`, one copy each, with the draft's defaults. */
export function newPrints(catalog: Catalog, items: OrderItem[], images: string[]): OrderItem[] {
  const defaults = printDefaults(catalog, items)
  return images.map((image) => ({ image, product: defaults.product, qty: 1, template: defaults.template }))
}

/**
 * The store of a new order: the home store, else that of the latest order, or the only store
 * that receives orders; '' leaves the choice to the customer.
 */
export function frontForNewOrder(catalog: Catalog | null, orders: OrderView[], homeFront: string | null): string {
  const receiving = catalog?.fronts.filter((f) => f.roles.includes('reception')) ?? []
  const home = receiving.find((f) => f.id === homeFront)?.id
  if (home) return home
  const latest = orders.filter((o) => o.spec.front).sort(newestFirst)[0]
  return latest?.spec.front ?? (receiving.length === 1 ? receiving[0].id : '')
}

/** Orders newest first by their creation time. */
export const newestFirst = (a: OrderView, b: OrderView): number => (b.spec.createdAt ?? '').localeCompare(a.spec.createdAt ?? '')
