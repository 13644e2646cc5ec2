// Room names, the configuration's catalog types and the shapes of the shared Yjs documents
// (SPEC.md "Document shapes"), with typed accessors. Pure: runs in the browser, relay and lab node.
import * as Y from 'yjs'
import type { PublicJwk } from './signing.ts'

// ---------------------------------------------------------------- catalog (config minus secrets)

export interface Product { id: string; name: string; widthMm: number; heightMm: number; media: string; price: number }
export interface Template { id: string; name: string; preview?: string }
/**
 * A lab as the catalog shows it: no key. `price` maps productId → the lab's price; `discounts`, the
 * lab's own rules for its charge (else the catalog's `discounts`).
 */
export interface LabInfo { id: string; name: string; price: Record<string, number>; discounts?: DiscountRules }
export type FrontRole = 'reception' | 'delivery'
/**
 * A store. `discounts`: its own rules, which lower only its `fee` (scope: this store); without them the
 * fee is always charged. `address`, `hours`, `payment`: what a customer reads before going there.
 */
export interface Front {
  id: string; name: string; lab: string; fee: number; roles: FrontRole[]; lanUrl?: string
  discounts?: DiscountRules; address?: string; hours?: string; payment?: string
}
export type DiscountScope = 'user' | 'front' | 'lab'
/** `within` is an ISO 8601 duration (P7D, P1M, PT12H, P1Y2M…); `amount` in minor units. */
export interface DiscountTier { within: string; amount: number }
/** `minSubtotal`: a charge (the lab's for lab rules, the fee for a store's) below it gets nothing from these rules. */
export interface DiscountRules { scope: DiscountScope; tiers: DiscountTier[]; minSubtotal?: number }

export interface Catalog {
  currency: string
  timeZone: string
  products: Product[]
  templates: Template[]
  labs: LabInfo[]
  fronts: Front[]
  discounts: DiscountRules
  /** The relay's Ed25519 public key (JWK): lab nodes check customers' session tokens with it offline. */
  relayKey?: PublicJwk
}

// ---------------------------------------------------------------- rooms

export type Room =
  | { kind: 'catalog'; name: 'catalog' }
  | { kind: 'user'; name: string; userId: string }
  | { kind: 'order'; name: string; orderId: string }
  | { kind: 'lab'; name: string; labId: string }

/** Ids are what a URL path segment can carry without escaping trouble. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** Parses a room name (`catalog`, `user/<id>`, `order/<id>`, `lab/<id>`); null for anything else. */
export function parseRoom(name: string): Room | null {
  if (name === 'catalog') return { kind: 'catalog', name }
  const slash = name.indexOf('/')
  if (slash < 0) return null
  const kind = name.slice(0, slash)
  const id = name.slice(slash + 1)
  if (!ID_PATTERN.test(id)) return null
  switch (kind) {
    case 'user': return { kind, name, userId: id }
    case 'order': return { kind, name, orderId: id }
    case 'lab': return { kind, name, labId: id }
    default: return null
  }
}

export const roomName = {
  catalog: () => 'catalog',
  user: (userId: string) => `user/${userId}`,
  order: (orderId: string) => `order/${orderId}`,
  lab: (labId: string) => `lab/${labId}`,
}

// ---------------------------------------------------------------- order documents

export type OrderState = 'draft' | 'submitted' | 'cancelled'
/** `crop`: the part of the photo to print (0–1 of its width and height), or "fit" (SPEC.md). */
export type Crop = 'fit' | { x: number; y: number; w: number; h: number }
export interface OrderItem { image: string; product: string; qty: number; template?: string; crop?: Crop }
/** `front` receives the order; `pickupFront` (a store with the `delivery` role) hands it over, `front` when absent. */
export interface OrderSpec { id: string; user: string; front: string; pickupFront?: string; createdAt: string; state: OrderState; items: OrderItem[] }

export type LineKind = 'print' | 'fee' | 'discount'
/** `by` on a discount line: who gave it, the lab (from its charge) or the store (from its fee). */
export interface PriceLine { kind: LineKind; label: string; amount: number; by?: 'lab' | 'front' }
export interface DiscountDecision { previousOrder: string; previousReceivedAt: string; within: string; amount: number }
export interface Receipt {
  /** `waiting`: submitted, some photos not yet at the relay (`missing`); no price yet. */
  status: 'waiting' | 'accepted' | 'rejected'
  /** While waiting: the hashes of the photos the relay does not have yet. */
  missing?: string[]
  error?: string
  /** The customer's display name from their account, for the lab's console and the pickup counter. */
  name?: string
  /** The store that hands the order over (the reception store unless the order named another). */
  pickupFront?: string
  /** The store's own discount on its fee (fronts[].discounts), beside the lab's `discount`; null when none. */
  frontDiscount?: DiscountDecision | null
  /** The short order number (shared/order-number.ts), unique per store; only an accepted order has one. */
  number?: string
  receivedAt: string
  lab: string
  lines: PriceLine[]
  total: number
  currency: string
  discount: DiscountDecision | null
}

export type ProgressStatus = 'queued' | 'printing' | 'held' | 'printed' | 'failed' | 'ready' | 'collected'
export interface Progress { status: ProgressStatus; updatedAt: string; jobs: unknown; reason?: string }

/**
 * Progress from which on an order is at a printer (or past it): the customer can no longer cancel
 * it, an admin can no longer move it, and its price no longer changes. `queued`, `held` (waiting
 * for a printer) and `failed` are not: nothing has been sent to a printer that will print.
 */
export const STARTED_PROGRESS: readonly string[] = ['printing', 'printed', 'ready', 'collected']

export function hasStarted(progress: unknown): boolean {
  return typeof progress === 'string' && STARTED_PROGRESS.includes(progress)
}

/** `pickupFront`: where the lab's "ready" sends the customer, when not `front`. */
export interface QueueEntry { receivedAt: string; front: string; pickupFront?: string }
export interface HistoryEntry {
  id: string; order: string; item: number; printer: string; job: number | string
  copies: number; status: string; printedAt: string
}

/** Reads an order's spec out of its document; null when the document has no spec yet. */
export function readSpec(doc: Y.Doc): Partial<OrderSpec> | null {
  const spec = doc.getMap('spec')
  if (spec.size === 0) return null
  const json = spec.toJSON() as Partial<OrderSpec>
  return json
}

export function readReceipt(doc: Y.Doc): Receipt | null {
  const receipt = doc.getMap('receipt')
  if (receipt.size === 0) return null
  return receipt.toJSON() as Receipt
}

/** Writes a spec as SPEC.md shapes it: `items` a Y.Array of Y.Maps. For clients and tests. */
export function writeSpec(doc: Y.Doc, spec: OrderSpec): void {
  doc.transact(() => {
    const map = doc.getMap('spec')
    map.set('id', spec.id)
    map.set('user', spec.user)
    map.set('front', spec.front)
    if (spec.pickupFront !== undefined) map.set('pickupFront', spec.pickupFront)
    map.set('createdAt', spec.createdAt)
    map.set('state', spec.state)
    const items = new Y.Array<Y.Map<unknown>>()
    items.push(spec.items.map((item) => {
      const m = new Y.Map<unknown>()
      for (const [k, v] of Object.entries(item)) if (v !== undefined) m.set(k, v)
      return m
    }))
    map.set('items', items)
  })
}
