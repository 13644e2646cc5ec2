// The operator's `ready` and `collected`: a printed order is at its pickup store, then in the
// customer's hands. Written into the order's progress (the store's name with `ready`) and, once
// the relay has stored it, into the printing history the relay keeps for audit.
import { readReceipt, type Catalog, type HistoryEntry } from '../shared/schema.ts'
import type { Journal } from './journal.ts'
import { RelayRefusedError, type RelayLink } from './relay-link.ts'

export type PickupStatus = 'ready' | 'collected'

export interface PickupContext {
  labId: string
  link: Pick<RelayLink, 'openOrder' | 'catalog'>
  journal: Pick<Journal, 'record'>
  log: (line: string) => void
  now?: () => Date
  /** How long to wait for the relay to store the change; default 10 s. */
  ackTimeoutMs?: number
}

/** The progress each status may follow: only a printed order goes to its store, and only one there is collected. */
const AFTER: Record<PickupStatus, ReadonlySet<unknown>> = {
  ready: new Set(['printed', 'ready']),
  collected: new Set(['printed', 'ready', 'collected']),
}

/**
 * Sets the order's progress to `status` when its progress allows it, and says in the log either
 * way; true once the relay has stored it. Nothing is written when it is refused, and nothing is
 * kept to send later when the relay is out of reach: the operator sees why and asks again.
 */
export async function markPickup(ctx: PickupContext, orderId: string, status: PickupStatus): Promise<boolean> {
  const refuse = (why: string) => { ctx.log(`order ${orderId}: not marked ${status}: ${why}`); return false }
  let order
  try {
    order = await ctx.link.openOrder(orderId, 10_000)
  } catch (error) {
    return refuse(error instanceof RelayRefusedError ? `not an order of this lab (${error.message})` : `the relay is out of reach (${(error as Error).message}); try again`)
  }
  try {
    const receipt = readReceipt(order.doc)
    if (receipt?.status !== 'accepted' || receipt.lab !== ctx.labId) return refuse('not an accepted order of this lab')
    const progress = order.doc.getMap('progress')
    const current = progress.get('status')
    if (!AFTER[status].has(current)) return refuse(`it is ${typeof current === 'string' ? current : 'not printed'}, and only a printed order can be`)
    const now = (ctx.now ?? (() => new Date()))().toISOString()
    const store = pickupStore(order.doc.getMap('spec'), ctx.link.catalog())
    order.doc.transact(() => {
      progress.set('status', status)
      progress.set('updatedAt', now)
      if (progress.has('reason')) progress.delete('reason')
      if (status === 'ready' && store) progress.set('store', store)
    })
    const refusals = await order.acknowledged(ctx.ackTimeoutMs ?? 10_000).catch((error: Error) => [`no acknowledgement: ${error.message}`])
    if (refusals.length) return refuse(`the relay did not store it (${refusals.join('; ')})`)
    ctx.journal.record(pickupEntry(ctx.labId, orderId, status, now))
    ctx.log(`order ${orderId}: ${status}${status === 'ready' && store ? ` at ${store.name}` : ''}`)
    return true
  } finally {
    order.close()
  }
}

/** Where the customer picks the order up: spec.pickupFront, else the reception store; its name from the catalog. */
function pickupStore(spec: { get(key: string): unknown }, catalog: Catalog | null): { id: string; name: string } | null {
  const id = spec.get('pickupFront') ?? spec.get('front')
  if (typeof id !== 'string') return null
  return { id, name: catalog?.fronts.find((front) => front.id === id)?.name ?? id }
}

/**
 * The history row the relay stores for audit. It is about the whole order, not a print job:
 * item -1, no printer, job or copies (the relay's checks take these; copies 0 adds no prints).
 * One per order and status: the id makes a repeated command one row at the relay.
 */
function pickupEntry(labId: string, orderId: string, status: PickupStatus, at: string): HistoryEntry {
  return { id: `${labId}:${orderId}:${status}`, order: orderId, item: -1, printer: '', job: '', copies: 0, status, printedAt: at }
}
