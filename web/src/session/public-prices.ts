// The price list before signing up: the relay's public `GET /api/prices` (currency, products, fronts
// with fee, roles, address, hours, payment and their lab's prices, discounts), read into the catalog
// shape the prices page already renders. No account, no documents.
import type { Catalog, DiscountRules, Front, LabInfo, Product } from '../../../shared/schema.ts'

/** The price list could not be fetched or read; `status` 0 means no answer at all. */
export class PriceListError extends Error {
  override name = 'PriceListError'
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

interface PriceAnswer {
  currency?: unknown
  products?: unknown
  fronts?: unknown
  discounts?: unknown
}

const isProduct = (p: unknown): p is Product => {
  const x = p as Partial<Product> | null
  return !!x && typeof x.id === 'string' && typeof x.name === 'string' && typeof x.price === 'number'
    && typeof x.widthMm === 'number' && typeof x.heightMm === 'number'
}

/** The list names no labs: each store's prices stand in as a lab of its own. */
const labOf = (frontId: string) => `prices-of-${frontId}`

type ListedFront = Partial<Front> & { labPrices?: unknown }

/** A front as the list gives it; the id falls back to the name (the list is for reading only). */
function readFront(value: unknown): Front | null {
  const x = value as ListedFront | null
  if (!x || typeof x.name !== 'string') return null
  const id = typeof x.id === 'string' ? x.id : x.name
  return {
    id,
    name: x.name,
    lab: labOf(id),
    fee: typeof x.fee === 'number' ? x.fee : 0,
    roles: Array.isArray(x.roles) ? x.roles.filter((r) => r === 'reception' || r === 'delivery') : ['reception'],
    ...(typeof x.address === 'string' ? { address: x.address } : {}),
    ...(typeof x.hours === 'string' ? { hours: x.hours } : {}),
    ...(typeof x.payment === 'string' ? { payment: x.payment } : {}),
  }
}

/** A store's lab prices (`labPrices`: productId → price), where the list gives them. */
function readLab(value: unknown): LabInfo | null {
  const x = value as ListedFront | null
  if (!x || typeof x.name !== 'string') return null
  const price: Record<string, number> = {}
  if (x.labPrices && typeof x.labPrices === 'object') {
    for (const [product, amount] of Object.entries(x.labPrices)) if (typeof amount === 'number') price[product] = amount
  }
  const id = typeof x.id === 'string' ? x.id : x.name
  return { id: labOf(id), name: x.name, price }
}

/** The public price list as a catalog without frames or keys. */
export function readPriceList(json: PriceAnswer): Catalog {
  const discounts = json.discounts as Partial<DiscountRules> | undefined
  const fronts = Array.isArray(json.fronts) ? json.fronts : []
  return {
    currency: typeof json.currency === 'string' ? json.currency : 'JPY',
    timeZone: 'UTC',
    products: Array.isArray(json.products) ? json.products.filter(isProduct) : [],
    templates: [],
    labs: fronts.map(readLab).filter((l): l is LabInfo => l !== null),
    fronts: fronts.map(readFront).filter((f): f is Front => f !== null),
    discounts: { scope: discounts?.scope ?? 'user', tiers: Array.isArray(discounts?.tiers) ? discounts.tiers : [] },
  } as Catalog
}

export async function fetchPriceList(base: string, signal?: AbortSignal): Promise<Catalog> {
  let res: Response
  try {
    res = await fetch(`${base}/api/prices`, { signal })
  } catch {
    throw new PriceListError(0, 'The price list cannot be loaded while offline.')
  }
  if (!res.ok) throw new PriceListError(res.status, `The price list is not available right now (${res.status}).`)
  return readPriceList((await res.json().catch(() => ({}))) as PriceAnswer)
}
