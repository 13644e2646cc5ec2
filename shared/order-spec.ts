// One reading of an order's spec for everyone who acts on it (SPEC.md "Document shapes"): the relay
// checks it before pricing, the lab node reads the order it prints through it, so what the relay
// accepts the lab can print. It checks the Yjs structure itself (items a Y.Array of Y.Maps, not
// plain objects a client may have put there) and every field's type and bounds, and says what is
// wrong in sentences a customer can read. Pure: runs in the browser, relay and lab node.
//
// Catalog checks (does the product exist, does the store take orders) are validateSubmission's
// (shared/validate.ts); this file needs no catalog.
import * as Y from 'yjs'
import { ID_PATTERN, type OrderItem, type OrderSpec, type OrderState } from './schema.ts'
import { capProblems, MAX_ITEMS, MAX_PROBLEMS, MAX_QTY } from './validate.ts'

export type OrderSpecReading =
  | { spec: OrderSpec; problems: [] }
  | { spec: null; problems: string[] }

const SHA256_HEX = /^[0-9a-f]{64}$/
const STATES: readonly OrderState[] = ['draft', 'submitted', 'cancelled']
/** Ids of products, templates and stores, and dates: nothing legitimate is longer. */
const MAX_NAME = 64
const ISO_DATE = /^\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)$/

/**
 * Reads `spec` of an order document. Either the whole spec, typed and bounded, with no problems,
 * or null and at least one problem. Never throws, whatever a client wrote into the document, and
 * reads at most MAX_ITEMS + 1 items (linear in what it returns).
 */
export function readOrderSpec(doc: Y.Doc, orderId: string): OrderSpecReading {
  const problems: string[] = []
  const map = specMap(doc)
  if (map === null) return { spec: null, problems: ['The order\'s details are not in the form this app writes them.'] }
  if (map.size === 0) return { spec: null, problems: ['The order has no details yet.'] }
  const id = map.get('id')
  if (id !== orderId) problems.push(`The order's id ${describe(id)} does not match the order ${describe(orderId)}.`)
  const user = map.get('user')
  if (typeof user !== 'string' || !ID_PATTERN.test(user)) problems.push(`The order's customer ${describe(user)} is not a valid account id.`)
  const front = map.get('front')
  if (typeof front !== 'string' || front === '' || front.length > MAX_NAME) problems.push(`Please choose the store that takes the order (${describe(front)} is not a store).`)
  // Where the customer collects the order; absent (or null, as Yjs clients may write) means the reception store.
  const pickupFront = map.get('pickupFront')
  const hasPickup = pickupFront !== undefined && pickupFront !== null
  if (hasPickup && (typeof pickupFront !== 'string' || pickupFront === '' || pickupFront.length > MAX_NAME)) problems.push(`Please choose the store where you collect the order (${describe(pickupFront)} is not a store).`)
  const createdAt = map.get('createdAt')
  if (!isIsoDate(createdAt)) problems.push(`The order's creation date ${describe(createdAt)} is not a date.`)
  const state = map.get('state')
  if (!STATES.includes(state as OrderState)) problems.push(`The order's state ${describe(state)} is not one of ${STATES.join(', ')}.`)
  const items = readItems(map.get('items'), problems)
  if (problems.length > 0) return { spec: null, problems: capProblems(problems) }
  const spec: OrderSpec = { id: id as string, user: user as string, front: front as string, createdAt: createdAt as string, state: state as OrderState, items: items! }
  if (hasPickup) spec.pickupFront = pickupFront as string
  return { spec, problems: [] }
}

/**
 * The `spec` map. A document filled from updates holds an untyped root until someone asks for it
 * as a map (so `doc.share` alone cannot tell); Yjs throws when it was asked for as another type.
 */
function specMap(doc: Y.Doc): Y.Map<unknown> | null {
  try {
    return doc.getMap('spec')
  } catch {
    return null
  }
}

function readItems(items: unknown, problems: string[]): OrderItem[] | null {
  if (!(items instanceof Y.Array)) {
    problems.push(items === undefined ? 'The order has no prints in it.' : 'The order\'s prints are not in the form this app writes them (a list of prints); please update the app and send it again.')
    return null
  }
  if (items.length > MAX_ITEMS) {
    problems.push(`An order can have at most ${MAX_ITEMS} prints; this one has ${items.length}. Please split it.`)
    return null
  }
  const read: OrderItem[] = []
  let index = 0
  for (const item of items) {
    index++
    const found = readItem(item, `Print ${index}`, problems)
    if (found) read.push(found)
    if (problems.length > MAX_PROBLEMS) break
  }
  return read
}

function readItem(item: unknown, where: string, problems: string[]): OrderItem | null {
  if (!(item instanceof Y.Map)) {
    problems.push(`${where} is not in the form this app writes prints; please update the app and send it again.`)
    return null
  }
  const before = problems.length
  const image = item.get('image')
  const product = item.get('product')
  const qty = item.get('qty')
  const template = item.get('template')
  const crop = item.get('crop')
  if (typeof image !== 'string' || !SHA256_HEX.test(image)) problems.push(`${where} does not refer to an uploaded photo.`)
  if (typeof product !== 'string' || product === '' || product.length > MAX_NAME) problems.push(`${where} has no valid print size (${describe(product)}).`)
  if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) problems.push(`${where} needs a number of copies from 1 to ${MAX_QTY} (${describe(qty)}).`)
  // A missing template means no frame; Yjs clients may write null for it.
  const hasTemplate = template !== undefined && template !== null
  if (hasTemplate && (typeof template !== 'string' || template === '' || template.length > MAX_NAME)) problems.push(`${where} has no valid frame (${describe(template)}).`)
  if (crop !== undefined && crop !== null && !isCrop(crop)) problems.push(`${where} has a crop that is neither "fit" nor a part of the photo (${describe(crop)}).`)
  if (problems.length > before) return null
  const read: OrderItem = { image: image as string, product: product as string, qty: qty as number }
  if (hasTemplate) read.template = template as string
  if (crop !== undefined && crop !== null) read.crop = crop as OrderItem['crop']
  return read
}

/** `"fit"`, or `{x, y, w, h}` within 0..1 of the photo (SPEC.md). */
function isCrop(value: unknown): boolean {
  if (value === 'fit') return true
  if (typeof value !== 'object' || value === null || value instanceof Y.AbstractType || Array.isArray(value)) return false
  const { x, y, w, h } = value as Record<string, unknown>
  const unit = (n: unknown) => typeof n === 'number' && n >= 0 && n <= 1
  return unit(x) && unit(y) && unit(w) && unit(h) && (x as number) + (w as number) <= 1 + 1e-9 && (y as number) + (h as number) <= 1 + 1e-9 && (w as number) > 0 && (h as number) > 0
}

function isIsoDate(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 40 && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
}

/** A value a client wrote, quoted briefly enough for a sentence, whatever its type or size. */
export function describe(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'none given'
  if (value instanceof Y.AbstractType) return 'a shared structure'
  let text: string
  if (typeof value === 'string') text = value
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value)
  else text = typeof value === 'object' ? 'an object' : typeof value
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`
}
