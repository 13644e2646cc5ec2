// Reading and editing one order document (SPEC.md "Document shapes": spec with items as a Y.Array
// of Y.Maps; receipt, progress and the in-store stamp written by others). Where the order stands
// is judged in stage.ts.
import * as Y from 'yjs'
import { readReceipt, writeSpec, type OrderItem, type OrderSpec, type Progress, type Receipt } from '../../../shared/schema.ts'

/**
 * What the home store's lab node writes when an order is submitted through it (`Y.Map instore`),
 * signed so that the relay can date the reception by it. It is not a receipt: only the relay prices.
 */
export interface InStore { lab: string; front: string; receivedAt: string; key?: string; sig?: string }

export interface OrderView {
  id: string
  spec: Omit<Partial<OrderSpec>, 'items'> & { items: OrderItem[] }
  receipt: Receipt | null
  progress: Progress | null
  instore: InStore | null
}

/** The in-store stamp of an order document's `instore` map, or null while it has none. */
export function readInStore(map: Y.Map<unknown> | Partial<InStore> | null): InStore | null {
  const json = (map instanceof Y.Map ? map.toJSON() : map) as Partial<InStore> | null
  return json && typeof json.receivedAt === 'string' && json.receivedAt ? json as InStore : null
}

export function readOrder(id: string, doc: Y.Doc): OrderView {
  const spec = doc.getMap('spec').toJSON() as Partial<OrderSpec>
  const progress = doc.getMap('progress')
  return {
    id,
    spec: { ...spec, items: Array.isArray(spec.items) ? spec.items : [] },
    receipt: readReceipt(doc),
    progress: progress.size > 0 ? (progress.toJSON() as Progress) : null,
    instore: readInStore(doc.getMap('instore')),
  }
}

/** Writes a new draft; its first write carries the customer's id, which makes it theirs at the relay. */
export function writeDraft(doc: Y.Doc, draft: { id: string; user: string; front: string; createdAt: string; items: OrderItem[] }): void {
  writeSpec(doc, { ...draft, state: 'draft' })
}

function items(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
  const spec = doc.getMap('spec')
  let list = spec.get('items') as Y.Array<Y.Map<unknown>> | undefined
  if (!(list instanceof Y.Array)) {
    list = new Y.Array<Y.Map<unknown>>()
    spec.set('items', list)
  }
  return list
}

function itemMap(item: OrderItem): Y.Map<unknown> {
  const map = new Y.Map<unknown>()
  for (const [key, value] of Object.entries(item)) if (value !== undefined) map.set(key, value)
  return map
}

export function addItems(doc: Y.Doc, added: OrderItem[]): void {
  if (added.length === 0) return
  doc.transact(() => items(doc).push(added.map(itemMap)))
}

/**
 * The item at `index` showing `image`. Another tab may have added or removed items since the
 * customer saw the list, so an index that no longer shows that photo is looked up again.
 */
function findItem(doc: Y.Doc, index: number, image: string): { list: Y.Array<Y.Map<unknown>>; at: number } | null {
  const list = items(doc)
  if (list.get(index)?.get('image') === image) return { list, at: index }
  const at = list.toArray().findIndex((item) => item.get('image') === image)
  return at < 0 ? null : { list, at }
}

export function updateItem(doc: Y.Doc, index: number, image: string, patch: Partial<Omit<OrderItem, 'image'>>): void {
  doc.transact(() => {
    const found = findItem(doc, index, image)
    if (!found) return
    const map = found.list.get(found.at)
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) map.delete(key)
      else if (map.get(key) !== value) map.set(key, value)
    }
  })
}

export function removeItem(doc: Y.Doc, index: number, image: string): void {
  doc.transact(() => {
    const found = findItem(doc, index, image)
    if (found) found.list.delete(found.at, 1)
  })
}

export function setFront(doc: Y.Doc, front: string): void {
  const spec = doc.getMap('spec')
  if (spec.get('front') !== front) spec.set('front', front)
}

/** The store to collect at (a store with the `delivery` role); '' or the reception store itself means "where ordered". */
export function setPickupFront(doc: Y.Doc, pickupFront: string): void {
  const spec = doc.getMap('spec')
  if (!pickupFront || pickupFront === spec.get('front')) {
    if (spec.has('pickupFront')) spec.delete('pickupFront')
  } else if (spec.get('pickupFront') !== pickupFront) spec.set('pickupFront', pickupFront)
}

export function submit(doc: Y.Doc): void {
  doc.getMap('spec').set('state', 'submitted')
}

/** A cancel request; the relay refuses it once the lab has started printing. */
export function cancel(doc: Y.Doc): void {
  doc.getMap('spec').set('state', 'cancelled')
}
