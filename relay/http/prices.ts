// GET /api/prices: the public price list, for anyone before signing up (no token): currency,
// products with their prices, stores with fee, roles, address, hours and how to pay, and the
// discount rules. Built from the public catalog, so it can hold no secret; counted per address.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from '../../shared/errors.ts'
import type { Catalog, DiscountRules } from '../../shared/schema.ts'
import { addressOf } from '../../sync-server/http-limits.ts'
import { sendJson } from '../../sync-server/respond.ts'
import type { AddressWindow } from './sign-in-guard.ts'
import type { ClientAddress } from './client-address.ts'

/** What GET /api/prices answers. */
export interface PriceList {
  currency: string
  timeZone: string
  products: Array<{ id: string; name: string; widthMm: number; heightMm: number; price: number }>
  fronts: Array<{
    id: string; name: string; fee: number; roles: string[]; address?: string; hours?: string; payment?: string
    /** The prices at the lab that prints this store's orders, where they differ from the products'. */
    labPrices: Record<string, number>
    /** The store's own discount on its fee, and the lab's rules on the prints (labs[].discounts or the catalog's). */
    discounts?: DiscountRules
    labDiscounts: DiscountRules
  }>
  discounts: DiscountRules
}

/** The price list of a public catalog: only what a customer is shown, no lab ids, keys or LAN addresses. */
export function priceList(catalog: Catalog): PriceList {
  return {
    currency: catalog.currency,
    timeZone: catalog.timeZone,
    products: catalog.products.map(({ id, name, widthMm, heightMm, price }) => ({ id, name, widthMm, heightMm, price })),
    fronts: catalog.fronts.map((front) => {
      const lab = catalog.labs.find((l) => l.id === front.lab)
      const shown: PriceList['fronts'][number] = {
        id: front.id, name: front.name, fee: front.fee, roles: [...front.roles],
        labPrices: { ...(lab?.price ?? {}) }, labDiscounts: lab?.discounts ?? catalog.discounts,
      }
      for (const key of ['address', 'hours', 'payment'] as const) if (front[key] !== undefined) shown[key] = front[key]
      if (front.discounts) shown.discounts = front.discounts
      return shown
    }),
    discounts: catalog.discounts,
  }
}

/** Answers GET (and HEAD) /api/prices; 429 with Retry-After past the address's minute. */
export function servePrices(req: IncomingMessage, res: ServerResponse, list: PriceList, window: AddressWindow, clientAddress: ClientAddress = (r) => addressOf(r.socket)): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    throw new HttpError(405, `${req.method} is not allowed here; use GET`)
  }
  window.take(clientAddress(req))
  sendJson(res, 200, list)
}
