// Checks a submitted order against the catalog before the relay accepts it, in sentences the customer
// reads on a rejected receipt. Pure; whether the images were uploaded is the relay's to check.
import type { Catalog, OrderSpec } from './schema.ts'

export const MAX_ITEMS = 500
export const MAX_QTY = 999
/** A receipt lists at most this many problems: an order wrong in every print still reads briefly. */
export const MAX_PROBLEMS = 10
const SHA256_HEX = /^[0-9a-f]{64}$/

/** The problems with `spec`, one readable sentence each; an empty list means it may be accepted. */
export function validateSubmission(spec: Partial<OrderSpec>, catalog: Catalog, submitter: string): string[] {
  const problems: string[] = []
  // A spec comes out of a Yjs document any client could have written, so nothing in it is trusted
  // to have the type OrderSpec claims.
  if (spec.user !== submitter) problems.push('This order belongs to another account, so it cannot be sent from this one.')
  problems.push(...itemProblems(spec.items, catalog))
  problems.push(...frontProblems(spec.front, catalog))
  if (spec.pickupFront !== undefined && spec.pickupFront !== null) problems.push(...pickupProblems(spec.pickupFront, catalog))
  return capProblems(problems)
}

/** The first MAX_PROBLEMS problems, and how many more there are. */
export function capProblems(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems
  return [...problems.slice(0, MAX_PROBLEMS), `…and ${problems.length - MAX_PROBLEMS} more problems.`]
}

function itemProblems(items: unknown, catalog: Catalog): string[] {
  if (!Array.isArray(items) || items.length === 0) return ['The order has no prints in it.']
  if (items.length > MAX_ITEMS) return [`An order can have at most ${MAX_ITEMS} prints; this one has ${items.length}. Please split it.`]
  const products = new Set(catalog.products.map((product) => product.id))
  const templates = new Set(catalog.templates.map((template) => template.id))
  const problems: string[] = []
  items.forEach((item: unknown, index) => {
    const where = `Print ${index + 1}`
    if (typeof item !== 'object' || item === null) {
      problems.push(`${where} is not a valid print.`)
      return
    }
    const { image, product, qty, template } = item as Record<string, unknown>
    if (typeof image !== 'string' || !SHA256_HEX.test(image)) problems.push(`${where} does not refer to an uploaded photo.`)
    if (typeof product !== 'string' || !products.has(product)) problems.push(`${where} asks for a print size we do not offer (${describe(product)}).`)
    if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) {
      problems.push(`${where} needs a number of copies from 1 to ${MAX_QTY} (${describe(qty)}).`)
    }
    // A missing template means no frame; Yjs clients may write null for it.
    if (template !== undefined && template !== null && (typeof template !== 'string' || !templates.has(template))) {
      problems.push(`${where} asks for a frame we do not offer (${describe(template)}).`)
    }
  })
  return problems
}

function frontProblems(frontId: unknown, catalog: Catalog): string[] {
  if (typeof frontId !== 'string' || frontId === '') return ['Please choose the store that takes the order.']
  const front = catalog.fronts.find((candidate) => candidate.id === frontId)
  if (!front) return [`The store ${describe(frontId)} does not exist.`]
  const problems: string[] = []
  if (!front.roles.includes('reception')) problems.push(`The store ${front.name} does not take orders; please choose another.`)
  if (!catalog.labs.some((lab) => lab.id === front.lab)) problems.push(`The store ${front.name} has no lab to print its orders at the moment; please choose another.`)
  return problems
}

/** The store the customer collects at: one that hands orders over (the `delivery` role). */
function pickupProblems(frontId: unknown, catalog: Catalog): string[] {
  const front = typeof frontId === 'string' ? catalog.fronts.find((candidate) => candidate.id === frontId) : undefined
  if (!front) return [`The pickup store ${describe(frontId)} does not exist.`]
  if (!front.roles.includes('delivery')) return [`The store ${front.name} does not hand orders over; please choose another store to collect at.`]
  return []
}

/** The store that hands the order over: the one it names, else the one that received it. */
export function pickupFrontOf(spec: Pick<OrderSpec, 'front' | 'pickupFront'>): string {
  return spec.pickupFront ?? spec.front
}

/** A value the customer sent, quoted briefly enough for a sentence. */
function describe(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'none given'
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`
}
