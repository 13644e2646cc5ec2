// An update read straight off its bytes (Yjs's update format V1) against the document it would go
// into, without building Yjs's objects: its new items and deletions, and where the items it refers
// to are. What shape.ts judges and update-cost.ts charges.
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import type { LeftAnchor, SeqStart } from './update-cost.ts'

/** Where a change lands: the top-level type's name and, for a map, the key under it (null in a list). */
export interface Place { root: string; key: string | null }

/** Marks a new item whose place is being found: meeting it again means its neighbours loop. */
export const FOLLOWING = Symbol('following')

/**
 * A new item as the update gives it, read off the bytes (readNew) without the objects
 * Y.decodeUpdate builds (a Y.Item with its content, and a whole Y.Map for each pushed map): on a
 * large update, allocating and collecting those took most of the time.
 */
export interface NewItem {
  id: Y.ID
  length: number
  /** Its left and right neighbours when it was made. */
  origin: Y.ID | null
  rightOrigin: Y.ID | null
  /** A top-level type's name, the item holding its parent type, or null: its neighbours' parent. */
  parent: string | Y.ID | null
  parentSub: string | null
  /** It holds a type (Y.Map, Y.Array, Y.Text, an XML type) other items can be put in. */
  isType: boolean
  /** Content readShape leaves to tryUpdate (rare kinds, gaps, garbage-collected ranges). */
  unsure: boolean
  /** Its plain values (ContentAny) when it is set straight on spec; null otherwise. */
  specValues: unknown[] | null
  /** Where it lands, once placeOfNew has found out. */
  place: Place | null | undefined | typeof FOLLOWING
  /** How deep the type it lands in is nested (a top-level type: 1), once depthIn has found out; 0 when unknown. */
  depth: number | undefined | typeof FOLLOWING
  // What checkScan works out, for the items Yjs would place now (subtree set):
  /** Its left neighbour as Yjs takes it: its origin, or its own item before the part the document lacks. */
  left: Y.Item | NewItem | null | undefined
  /** How many new items have it as left neighbour, directly or not, itself included. */
  subtree: number | undefined
  originDepth: number | undefined | typeof FOLLOWING
  leftAnchor: LeftAnchor | undefined | typeof FOLLOWING
  rightAnchor: Y.Item | null | undefined | typeof FOLLOWING
  /** The list or key it goes in. */
  seq: SeqStart | null | undefined | typeof FOLLOWING
  /** When it holds a new type: the SeqStarts of its keys (see newTypeSeq). */
  seqs: SeqStart[] | Map<string | null, SeqStart> | undefined
}

export interface Range { clock: number; len: number }

/**
 * What readShape works with. Its helpers are module functions over this, not closures: tsx keeps
 * function names (esbuild keepNames), which wraps every closure made per call in a __name call.
 */
export interface Reading {
  doc: Y.Doc
  /** The update's items per client, in clock order, each continuing the document's state. */
  fresh: Map<number, NewItem[]>
  rootNames: Map<Y.AbstractType<any>, string> | null
  /** First values the update gives spec.state, spec.user or spec.id (see firstValue). */
  firstValues: Map<string, unknown> | null
  /** Where changes inside each nested type of the document land (placeOfType); made when first needed. */
  typePlaces: Map<Y.AbstractType<any>, Place | null> | null
  /** How deep each type of the document is nested (depthOfType); made when first needed. */
  typeDepths: Map<Y.AbstractType<any>, number> | null
}

const byClock = (a: NewItem, b: NewItem) => a.id.clock - b.id.clock

function inClockOrder(list: NewItem[]): boolean {
  for (let i = 1; i < list.length; i++) if (byClock(list[i - 1], list[i]) > 0) return false
  return true
}

const BIT8 = 0x80 // has an origin
const BIT7 = 0x40 // has a right origin
const BIT6 = 0x20 // has a parentSub
const BITS5 = 0x1f // content kind

/**
 * The update's new items and deletions, read as Y.decodeUpdate reads them (Yjs's update format
 * V1, yjs/src/utils/updates.js and encoding.js), every kind of content with the same checks, so
 * that what Yjs would apply is all here (checkNesting sees it). Content readShape does not judge
 * itself is marked unsure. Null when the bytes cannot be read: Yjs then fails on them too.
 */
function readNew(update: Uint8Array): { items: NewItem[]; deletes: Map<number, Range[]> } | null {
  const decoder = decoding.createDecoder(update)
  try {
    const items = readItems(decoder)
    return { items, deletes: readDeletes(decoder) }
  } catch {
    return null
  }
}

function readItems(decoder: decoding.Decoder): NewItem[] {
  const items: NewItem[] = []
  const runs = decoding.readVarUint(decoder)
  for (let run = 0; run < runs; run++) {
    const count = decoding.readVarUint(decoder)
    const client = decoding.readVarUint(decoder)
    let clock = decoding.readVarUint(decoder)
    for (let i = 0; i < count; i++) {
      const item = readItem(decoder, client, clock)
      items.push(item)
      clock += item.length
    }
  }
  return items
}

function readItem(decoder: decoding.Decoder, client: number, clock: number): NewItem {
  const info = decoding.readUint8(decoder)
  if (info === 10 || (info & BITS5) === 0) { // a gap (Skip), or a garbage-collected range
    const item = newItem(client, clock, null, null, null, null)
    item.length = decoding.readVarUint(decoder)
    item.unsure = true
    return item
  }
  const origin = (info & BIT8) !== 0 ? readID(decoder) : null
  const rightOrigin = (info & BIT7) !== 0 ? readID(decoder) : null
  // Without neighbours, the parent is given: a top-level type's name or the ID of the item holding it.
  const parentGiven = (info & (BIT7 | BIT8)) === 0
  const parent = !parentGiven ? null : decoding.readVarUint(decoder) === 1 ? decoding.readVarString(decoder) : readID(decoder)
  const parentSub = parentGiven && (info & BIT6) !== 0 ? decoding.readVarString(decoder) : null
  const item = newItem(client, clock, origin, rightOrigin, parent, parentSub)
  readContent(decoder, info & BITS5, item)
  if (item.length < 1) item.unsure = true
  return item
}

/**
 * An item's content of kind `kind`: read past, and what the shape needs of it set on `item` (its
 * length, isType, unsure, and spec's values when set straight on spec). Into the item itself: an
 * object per content was an eighth of what judging a write allocated.
 */
function readContent(decoder: decoding.Decoder, kind: number, item: NewItem): void {
  switch (kind) {
    case 1: // deleted
      item.length = decoding.readVarUint(decoder)
      break
    case 2: // JSON (old clients)
      item.length = decoding.readVarUint(decoder)
      for (let i = 0; i < item.length; i++) {
        const json = decoding.readVarString(decoder)
        if (json !== 'undefined') JSON.parse(json)
      }
      item.unsure = true
      break
    case 3: // binary
      decoding.readVarUint8Array(decoder)
      break
    case 4: // string (Y.Text): its length counts UTF-16 code units, as Yjs's does
      item.length = decoding.readVarString(decoder).length
      break
    case 5: // embed
      JSON.parse(decoding.readVarString(decoder))
      item.unsure = true
      break
    case 6: // format
      decoding.readVarString(decoder)
      JSON.parse(decoding.readVarString(decoder))
      item.unsure = true
      break
    case 7: { // a type: Y.Array, Y.Map, Y.Text, or an XML type (left to tryUpdate)
      const typeRef = decoding.readVarUint(decoder)
      if (typeRef > 6) throw new Error(`unknown type ${typeRef}`)
      if (typeRef === 3 || typeRef === 5) decoding.readVarString(decoder) // an XML element's or hook's name
      item.isType = true
      item.unsure = typeRef > 2
      break
    }
    case 8: { // plain values
      const length = item.length = decoding.readVarUint(decoder)
      if (item.parent !== 'spec') {
        for (let i = 0; i < length; i++) decoding.readAny(decoder)
        break
      }
      const values: unknown[] = []
      for (let i = 0; i < length; i++) values.push(decoding.readAny(decoder))
      item.specValues = values
      break
    }
    case 9: // a subdocument
      decoding.readVarString(decoder)
      decoding.readAny(decoder)
      item.unsure = true
      break
    default:
      throw new Error(`unknown content ${kind}`)
  }
}

/** A new item of length 1 with plain content; readItem and readContent set the rest. */
function newItem(client: number, clock: number, origin: Y.ID | null, rightOrigin: Y.ID | null, parent: string | Y.ID | null, parentSub: string | null): NewItem {
  return {
    id: Y.createID(client, clock), length: 1, origin, rightOrigin, parent, parentSub, isType: false, unsure: false, specValues: null, place: undefined, depth: undefined,
    left: undefined, subtree: undefined, originDepth: undefined, leftAnchor: undefined, rightAnchor: undefined, seq: undefined, seqs: undefined,
  }
}

const readID = (decoder: decoding.Decoder): Y.ID => Y.createID(decoding.readVarUint(decoder), decoding.readVarUint(decoder))

function readDeletes(decoder: decoding.Decoder): Map<number, Range[]> {
  const deletes = new Map<number, Range[]>()
  const clients = decoding.readVarUint(decoder)
  for (let c = 0; c < clients; c++) {
    const client = decoding.readVarUint(decoder)
    const count = decoding.readVarUint(decoder)
    if (count === 0) continue
    let ranges = deletes.get(client)
    if (ranges === undefined) deletes.set(client, ranges = [])
    for (let i = 0; i < count; i++) ranges.push({ clock: decoding.readVarUint(decoder), len: decoding.readVarUint(decoder) })
  }
  return deletes
}
/** The item holding `id`, in the document or among the update's new items; null when neither has it. */
export function locate(reading: Reading, id: Y.ID): Y.Item | NewItem | null {
  const store = reading.doc.store
  if (id.clock < Y.getState(store, id.client)) {
    const struct = Y.getItem(store, id)
    return struct instanceof Y.Item ? struct : null
  }
  const list = reading.fresh.get(id.client)
  if (!list) return null
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const item = list[mid]
    if (id.clock < item.id.clock) hi = mid - 1
    else if (id.clock >= item.id.clock + item.length) lo = mid + 1
    else return item
  }
  return null
}

/**
 * Whether every item a new item refers to (its left and right neighbours when it was made, and its
 * parent item) is in the document or in the update, as Yjs requires before integrating it.
 */
export function referencesKnown(reading: Reading, item: NewItem): boolean {
  return known(reading, item.origin) && known(reading, item.rightOrigin) && known(reading, item.parent instanceof Y.ID ? item.parent : null)
}

const known = (reading: Reading, id: Y.ID | null): boolean => id === null || locate(reading, id) !== null

/**
 * An update read off its bytes against the document it would go into: its new items (also per
 * client, in clock order, for locate) and deletions. Null when the bytes cannot be read.
 */
export function readUpdate(doc: Y.Doc, update: Uint8Array): { reading: Reading; fresh: Map<number, NewItem[]>; items: NewItem[]; deletes: Map<number, Range[]> } | null {
  const read = readNew(update)
  if (read === null) return null
  const fresh = new Map<number, NewItem[]>()
  for (const item of read.items) {
    const list = fresh.get(item.id.client)
    if (list) list.push(item)
    else fresh.set(item.id.client, [item])
  }
  // An update has them in order already; sorting anyway allocated, so only when they are not.
  for (const list of fresh.values()) if (!inClockOrder(list)) list.sort(byClock)
  const reading: Reading = { doc, fresh, rootNames: null, firstValues: null, typePlaces: null, typeDepths: null }
  return { reading, fresh, items: read.items, deletes: read.deletes }
}
