// Who may read and write which room and which top-level map: SPEC.md's rights table as code.
// Pure: the relay enforces it, the lab node's LAN server enforces it, the PWA uses it to explain.
import { hasStarted, type OrderState, type Room } from './schema.ts'

export type Principal =
  | { kind: 'user'; userId: string }
  | { kind: 'lab'; labId: string }
  | { kind: 'admin'; name: string }

/** What the relay knows about an order room, from its own records, never from the client. */
export interface OrderFacts {
  /** The customer who first wrote the order; null while nobody has. */
  owner: string | null
  /** The lab it was assigned to at reception; null before reception. */
  lab: string | null
  /** spec.state as stored before the write being judged. */
  state: OrderState | null
  /** progress.status as stored: once the lab is printing, the customer can no longer cancel. */
  progress: string | null
}

export const NO_ORDER_FACTS: OrderFacts = { owner: null, lab: null, state: null, progress: null }

/** What an order document says about who owns it and how far it has gone (a Y.Doc, or anything shaped like one). */
export function readOrderFacts(doc: { getMap(name: string): { get(key: string): unknown } }): OrderFacts {
  const text = (value: unknown) => (typeof value === 'string' ? value : null)
  const spec = doc.getMap('spec')
  const receipt = doc.getMap('receipt')
  return {
    owner: text(spec.get('user')),
    lab: receipt.get('status') === 'accepted' ? text(receipt.get('lab')) : null,
    state: text(spec.get('state')) as OrderFacts['state'],
    progress: text(doc.getMap('progress').get('status')),
  }
}

/** A write as the relay sees it: the top-level maps it touched, and inside `spec` the keys. */
export interface WriteShape {
  maps: Set<string>
  specKeys: Set<string>
  /** spec.state after the write, and spec.user after it (for claiming a new order). */
  nextState: OrderState | null
  nextUser: string | null
  nextId: string | null
}

export function mayRead(who: Principal, room: Room, order: OrderFacts = NO_ORDER_FACTS): boolean {
  if (who.kind === 'admin') return true
  switch (room.kind) {
    case 'catalog': return true
    case 'user': return who.kind === 'user' && who.userId === room.userId
    case 'lab': return who.kind === 'lab' && who.labId === room.labId
    case 'order':
      if (who.kind === 'user') return order.owner === null || order.owner === who.userId
      return who.kind === 'lab' && order.lab === who.labId
  }
}

/**
 * Why `who` may not make this write, or null when it may. Reasons are sentences the writer is
 * told (permission-denied message), so they name the rule, never another customer's data.
 */
export function refuseWrite(who: Principal, room: Room, write: WriteShape, order: OrderFacts = NO_ORDER_FACTS): string | null {
  if (write.maps.size === 0) return null
  if (!mayRead(who, room, order)) return 'you may not access this document'
  switch (room.kind) {
    case 'catalog':
      return 'the catalog is written by the relay only'
    case 'user':
      return who.kind === 'user' ? null : 'only the customer writes their own document'
    case 'lab': {
      const other = [...write.maps].filter((m) => m !== 'history')
      if (who.kind !== 'lab') return 'only the lab writes its history'
      return other.length ? `only the relay writes ${other.join(', ')} in a lab document` : null
    }
    case 'order':
      return refuseOrderWrite(who, room.orderId, write, order)
  }
}

function refuseOrderWrite(who: Principal, orderId: string, write: WriteShape, order: OrderFacts): string | null {
  if (who.kind === 'admin') return 'admins change orders through the admin API, not by editing them'
  if (who.kind === 'lab') {
    const other = [...write.maps].filter((m) => m !== 'progress')
    return other.length ? `a lab writes only progress, not ${other.join(', ')}` : null
  }
  // `instore` holds a lab node's signed stamp (shared/signing.ts); the customer's device carries it
  // to the relay, which trusts it only for its signature, so the customer may write it.
  const other = [...write.maps].filter((m) => m !== 'spec' && m !== 'instore')
  if (other.length) return `${other.join(', ')} is written by the relay or the lab, not by the customer`
  if (!write.maps.has('spec')) return order.owner === who.userId ? null : 'a new order starts with its spec'
  if (order.owner === null) {
    if (write.nextUser !== who.userId) return 'a new order must carry your own user id in spec.user'
    if (write.nextId !== null && write.nextId !== orderId) return 'spec.id must match the order id'
    return null
  }
  if (order.state === null || order.state === 'draft') {
    if (write.specKeys.has('user') && write.nextUser !== who.userId) return 'spec.user cannot be changed'
    if (write.specKeys.has('id') && write.nextId !== orderId) return 'spec.id cannot be changed'
    return null
  }
  const onlyState = write.specKeys.size === 1 && write.specKeys.has('state')
  // The same submit (or cancel) from a second device changes nothing; accepting it keeps that
  // device in step with the relay instead of leaving it with a write the relay never took.
  if (onlyState && write.nextState === order.state) return null
  // After submission only a cancel request is allowed, and only until printing starts.
  const onlyCancels = onlyState && write.nextState === 'cancelled'
  if (!onlyCancels) return `the order is ${order.state}; its spec can no longer be changed`
  if (order.state === 'cancelled') return 'the order is already cancelled'
  // A cancel is honoured until a job goes to a printer: the lab writes `printing` and waits for the
  // relay's acknowledgement before sending one, so a cancel either lands before it (and the lab,
  // reading spec.state again, prints nothing) or is refused here; reception and progress agree.
  if (hasStarted(order.progress)) return `the lab has started printing (${order.progress}); the order can no longer be cancelled`
  return null
}

/**
 * The write rule of a lab node's in-store server. A customer's device that synced an order with
 * the relay carries the relay's receipt and the lab's progress in its copy; the lab node may not
 * have them yet (its link to the relay may be down), and refusing them would refuse the device's
 * whole sync. So in the store the owner's copy may bring them along. Nothing in the store acts on
 * them (it stamps only orders without a receipt, and no lab reads through it), and the relay
 * judges every write again when the lab node passes it on, taking receipts and progress only from
 * itself and the lab: a forged receipt stays in the forger's own order at the lab node.
 */
export function refuseWriteInStore(who: Principal, room: Room, write: WriteShape, order: OrderFacts = NO_ORDER_FACTS): string | null {
  if (room.kind !== 'order' || who.kind !== 'user' || (order.owner !== null && order.owner !== who.userId)) return refuseWrite(who, room, write, order)
  const maps = new Set([...write.maps].filter((m) => m !== 'receipt' && m !== 'progress'))
  if (maps.size === 0) return order.owner === who.userId ? null : 'a new order starts with its spec'
  return refuseWrite(who, room, { ...write, maps }, order)
}
