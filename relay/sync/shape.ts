// Works out what an incoming update would change, by applying it to a scratch copy of the
// document first: which top-level maps it touches and, inside `spec`, which keys.
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import type { WriteShape } from '../../shared/rights.ts'
import type { OrderState } from '../../shared/schema.ts'

export interface Trial {
  shape: WriteShape
  /** False when the update brought nothing new. */
  changed: boolean
  /**
   * The update builds on changes this document does not have (a write refused earlier, or one
   * not synced yet): Yjs would apply part of it now (its deletions) and hold the rest back.
   */
  incomplete: boolean
}

/**
 * Applies `update` to `scratch` and reports its shape. Throws when Yjs cannot decode it; the
 * scratch copy is then in an unknown state and must be rebuilt.
 */
export function tryUpdate(scratch: Y.Doc, update: Uint8Array): Trial {
  let changedTypes = new Map<Y.AbstractType<any>, Set<string | null>>()
  let deleted = false
  const observe = (tr: Y.Transaction) => {
    changedTypes = tr.changed
    deleted = tr.deleteSet.clients.size > 0
  }
  const before = Y.encodeStateVector(scratch)
  const pendingBefore = [scratch.store.pendingStructs, scratch.store.pendingDs]
  scratch.on('afterTransaction', observe)
  try {
    Y.applyUpdate(scratch, update)
  } finally {
    scratch.off('afterTransaction', observe)
  }
  const shape = describe(scratch, changedTypes)
  const changed = changedTypes.size > 0 || deleted ||
    !equalBytes(before, Y.encodeStateVector(scratch)) ||
    pendingBefore[0] !== scratch.store.pendingStructs || pendingBefore[1] !== scratch.store.pendingDs
  const incomplete = scratch.store.pendingStructs !== null || scratch.store.pendingDs !== null
  return { shape, changed, incomplete }
}

function describe(doc: Y.Doc, changed: Map<Y.AbstractType<any>, Set<string | null>>): WriteShape {
  const rootNames = new Map<Y.AbstractType<any>, string>()
  for (const [name, type] of doc.share) rootNames.set(type, name)
  const maps = new Set<string>()
  const specKeys = new Set<string>()
  for (const [type, keys] of changed) {
    let root: Y.AbstractType<any> = type
    let rootKey: string | null = null
    while (root._item !== null) {
      rootKey = root._item.parentSub
      root = root._item.parent as Y.AbstractType<any>
    }
    const name = rootNames.get(root) ?? '(unnamed)'
    maps.add(name)
    if (name !== 'spec') continue
    if (root === type) for (const key of keys) specKeys.add(key ?? '(array)')
    else specKeys.add(rootKey ?? '(array)')
  }
  const spec = doc.share.has('spec') ? doc.getMap('spec') : null
  return {
    maps,
    specKeys,
    nextState: (str(spec?.get('state')) as OrderState | null),
    nextUser: str(spec?.get('user')),
    nextId: str(spec?.get('id')),
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A fresh copy of `doc`'s content, to try updates on. */
export function scratchCopy(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: doc.gc, guid: `scratch:${doc.guid}` })
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  return copy
}

/** Where a change lands: the top-level type's name and, for a map, the key under it (null in a list). */
interface Place { root: string; key: string | null }

/** Marks a new item whose place is being found: meeting it again means its neighbours loop. */
const FOLLOWING = Symbol('following')

/**
 * A new item as the update gives it, read off the bytes (readNew) without the objects
 * Y.decodeUpdate builds (a Y.Item with its content, and a whole Y.Map for each pushed map): on a
 * large update, allocating and collecting those took most of the time.
 */
interface NewItem {
  id: Y.ID
  length: number
  /** Its left and right neighbours when it was made. */
  origin: Y.ID | null
  rightOrigin: Y.ID | null
  /** A top-level type's name, the item holding its parent type, or null: its neighbours' parent. */
  parent: string | Y.ID | null
  parentSub: string | null
  /** It holds a type (Y.Map, Y.Array, Y.Text…) other items can be put in. */
  isType: boolean
  /** Its plain values (ContentAny) when it is set straight on spec; null otherwise. */
  specValues: unknown[] | null
  /** Where it lands, once placeOfNew has found out. */
  place: Place | null | undefined | typeof FOLLOWING
}

interface Range { clock: number; len: number }

/**
 * What readShape works with. Its helpers are module functions over this, not closures: tsx keeps
 * function names (esbuild keepNames), which wraps every closure made per call in a __name call.
 */
interface Reading {
  doc: Y.Doc
  /** The update's items per client, in clock order, each continuing the document's state. */
  fresh: Map<number, NewItem[]>
  rootNames: Map<Y.AbstractType<any>, string> | null
  /** First values the update gives spec.state, spec.user or spec.id (see firstValue). */
  firstValues: Map<string, unknown> | null
  /** Where changes inside each nested type of the document land (placeOfType). */
  typePlaces: Map<Y.AbstractType<any>, Place | null>
}

/** The spec keys whose value after a write the rights table reads. */
const VALUE_KEYS = new Set(['state', 'user', 'id'])

/**
 * Reports an update's shape from its structure alone and the document it would be applied to,
 * without applying it anywhere: for the common write, this replaces building and updating a
 * scratch copy. Returns null whenever that is not certain to give tryUpdate's answer: the update
 * overlaps or skips ahead of what the document has, refers to something neither has, touches a
 * deleted type, changes nothing, holds content it does not read (see readNew), or changes
 * spec.state, spec.user or spec.id other than by giving one its first value (their value after the
 * write tryUpdate reads off the result). The caller then uses tryUpdate.
 *
 * Linear in the update's size: each new item is followed to its place once (placeOfNew), each
 * nested type of the document once (placeOfType), each deleted item once.
 */
export function readShape(doc: Y.Doc, update: Uint8Array): Trial | null {
  const read = readNew(update)
  if (read === null) return null
  const fresh = new Map<number, NewItem[]>()
  for (const item of read.items) {
    const { client, clock } = item.id
    const list = fresh.get(client)
    const next = list ? list[list.length - 1].id.clock + list[list.length - 1].length : Y.getState(doc.store, client)
    if (clock !== next) return null
    if (list) list.push(item)
    else fresh.set(client, [item])
  }
  const reading: Reading = { doc, fresh, rootNames: null, firstValues: null, typePlaces: new Map() }
  const maps = new Set<string>()
  const specKeys = new Set<string>()
  let places = 0
  for (const item of read.items) {
    if (!referencesKnown(reading, item)) return null // Yjs would hold it back: tryUpdate says incomplete
    const place = placeOfNew(reading, item)
    if (place === null) return null
    if (place.root === 'spec' && VALUE_KEYS.has(place.key!) && !firstValue(reading, item, place.key!)) return null
    note(place, maps, specKeys)
    places++
  }
  for (const [client, ranges] of read.deletes) {
    const state = Y.getState(doc.store, client)
    const stored = doc.store.clients.get(client)
    // Ranges in clock order, each item looked at once however much the update's ranges overlap.
    ranges.sort((a, b) => a.clock - b.clock)
    let seen = 0
    for (const { clock, len } of ranges) {
      if (clock + len > state || !stored) return null // deletes something new or unknown
      const from = Math.max(clock, seen)
      if (from >= clock + len) continue
      seen = clock + len
      for (let i = Y.findIndexSS(stored, from); i < stored.length && stored[i].id.clock < clock + len; i++) {
        const struct = stored[i]
        if (!(struct instanceof Y.Item) || struct.deleted) continue
        const place = placeInDoc(reading, struct)
        if (place === null) return null
        if (place.root === 'spec' && VALUE_KEYS.has(place.key!)) return null // the value after it: tryUpdate
        note(place, maps, specKeys)
        places++
      }
    }
  }
  if (places === 0) return null
  const spec = doc.share.has('spec') ? doc.getMap('spec') : null
  return {
    shape: {
      maps,
      specKeys,
      nextState: valueAfter(reading, spec, 'state') as OrderState | null,
      nextUser: valueAfter(reading, spec, 'user'),
      nextId: valueAfter(reading, spec, 'id'),
    },
    changed: true,
    incomplete: false,
  }
}

function note({ root, key }: Place, maps: Set<string>, specKeys: Set<string>): void {
  maps.add(root)
  if (root === 'spec') specKeys.add(key ?? '(array)')
}

const BIT8 = 0x80 // has an origin
const BIT7 = 0x40 // has a right origin
const BIT6 = 0x20 // has a parentSub
const BITS5 = 0x1f // content kind

/**
 * The update's new items and deletions, read as Y.decodeUpdate reads them (Yjs's update format
 * V1, yjs/src/utils/updates.js and encoding.js). Null when it holds anything readShape leaves to
 * tryUpdate: gaps or garbage-collected ranges, content other than plain values, strings, binary,
 * deleted ranges and the list, map and text types, or bytes it cannot read (Yjs then says why).
 */
function readNew(update: Uint8Array): { items: NewItem[]; deletes: Map<number, Range[]> } | null {
  const decoder = decoding.createDecoder(update)
  try {
    const items = readItems(decoder)
    return items === null ? null : { items, deletes: readDeletes(decoder) }
  } catch {
    return null
  }
}

function readItems(decoder: decoding.Decoder): NewItem[] | null {
  const items: NewItem[] = []
  const runs = decoding.readVarUint(decoder)
  for (let run = 0; run < runs; run++) {
    const count = decoding.readVarUint(decoder)
    const client = decoding.readVarUint(decoder)
    let clock = decoding.readVarUint(decoder)
    for (let i = 0; i < count; i++) {
      const item = readItem(decoder, client, clock)
      if (item === null) return null
      items.push(item)
      clock += item.length
    }
  }
  return items
}

function readItem(decoder: decoding.Decoder, client: number, clock: number): NewItem | null {
  const info = decoding.readUint8(decoder)
  if ((info & BITS5) === 0 || info === 10) return null // garbage collected, or a gap (Skip)
  const origin = (info & BIT8) !== 0 ? readID(decoder) : null
  const rightOrigin = (info & BIT7) !== 0 ? readID(decoder) : null
  // Without neighbours, the parent is given: a top-level type's name or the ID of the item holding it.
  const parentGiven = (info & (BIT7 | BIT8)) === 0
  const parent = !parentGiven ? null : decoding.readVarUint(decoder) === 1 ? decoding.readVarString(decoder) : readID(decoder)
  const parentSub = parentGiven && (info & BIT6) !== 0 ? decoding.readVarString(decoder) : null
  let length = 1
  let isType = false
  let specValues: unknown[] | null = null
  switch (info & BITS5) {
    case 1: // deleted
      length = decoding.readVarUint(decoder)
      break
    case 3: // binary
      decoding.readVarUint8Array(decoder)
      break
    case 4: // string (Y.Text): its length counts UTF-16 code units, as Yjs's does
      length = decoding.readVarString(decoder).length
      break
    case 7: { // a type: Y.Array, Y.Map, Y.Text (XML types are left to tryUpdate)
      const typeRef = decoding.readVarUint(decoder)
      if (typeRef !== 0 && typeRef !== 1 && typeRef !== 2) return null
      isType = true
      break
    }
    case 8: { // plain values
      length = decoding.readVarUint(decoder)
      const values: unknown[] = []
      for (let i = 0; i < length; i++) values.push(decoding.readAny(decoder))
      if (parent === 'spec') specValues = values
      break
    }
    default:
      return null
  }
  if (length < 1) return null
  return { id: Y.createID(client, clock), length, origin, rightOrigin, parent, parentSub, isType, specValues, place: undefined }
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

/**
 * The value of spec.<key> after the write, when certain from the update alone: the key was never
 * set in the document and this is the update's only item for it, set straight on spec with no
 * neighbours (a new order's first write). Yjs then makes this item the key's entry, so its last
 * value is what spec.get(key) gives. False otherwise; tryUpdate reads the value off the result.
 */
function firstValue(reading: Reading, item: NewItem, key: string): boolean {
  if (item.parent !== 'spec' || item.parentSub !== key || item.origin !== null || item.rightOrigin !== null) return false
  if (item.specValues === null) return false
  const spec = reading.doc.share.get('spec')
  if (spec !== undefined && spec._map.has(key)) return false
  reading.firstValues ??= new Map()
  if (reading.firstValues.has(key)) return false
  reading.firstValues.set(key, item.specValues[item.length - 1])
  return true
}

/** Where a change to an item of the document lands. */
function placeInDoc(reading: Reading, item: Y.Item): Place | null {
  const type = item.parent
  if (!(type instanceof Y.AbstractType)) return null
  return type._item === null ? rootPlace(reading, type, item.parentSub) : placeOfType(reading, type)
}

/**
 * Where changes inside a nested type of the document land: the top-level type and the key of the
 * item holding the nesting there. Remembered for every type on the way up, so that each is walked
 * through once per update however many changes are made inside it.
 */
function placeOfType(reading: Reading, start: Y.AbstractType<any>): Place | null {
  const path: Y.AbstractType<any>[] = []
  let type = start
  let place: Place | null
  for (;;) {
    const known = reading.typePlaces.get(type)
    if (known !== undefined) { place = known; break }
    path.push(type)
    const item = type._item!
    if (item.deleted) { place = null; break } // tryUpdate does not see changes inside deleted types
    const parent = item.parent as Y.AbstractType<any>
    if (parent._item === null) { place = rootPlace(reading, parent, item.parentSub); break }
    type = parent
  }
  for (const visited of path) reading.typePlaces.set(visited, place)
  return place
}

function rootPlace(reading: Reading, root: Y.AbstractType<any>, key: string | null): Place | null {
  if (reading.rootNames === null) {
    reading.rootNames = new Map()
    for (const [name, type] of reading.doc.share) reading.rootNames.set(type, name)
  }
  const name = reading.rootNames.get(root)
  return name === undefined ? null : { root: name, key }
}

/** The item holding `id`, in the document or among the update's new items; null when neither has it. */
function locate(reading: Reading, id: Y.ID): Y.Item | NewItem | null {
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
function referencesKnown(reading: Reading, item: NewItem): boolean {
  return known(reading, item.origin) && known(reading, item.rightOrigin) && known(reading, item.parent instanceof Y.ID ? item.parent : null)
}

const known = (reading: Reading, id: Y.ID | null): boolean => id === null || locate(reading, id) !== null

/**
 * A new item lands where its parent item, or its neighbour, is: follow them to the document. Every
 * new item on the way lands in the same place, so each remembers it, and a later item naming one of
 * them stops there: a run of pushed items, each naming the one before, is walked through once.
 */
function placeOfNew(reading: Reading, start: NewItem): Place | null {
  const path: NewItem[] = []
  let item = start
  let place: Place | null
  for (;;) {
    if (item.place !== undefined) {
      place = item.place === FOLLOWING ? null : item.place // neighbours in a loop: nowhere Yjs could put them
      break
    }
    item.place = FOLLOWING
    path.push(item)
    const next = step(reading, item)
    if (next === null || !('id' in next)) { place = next; break }
    item = next
  }
  for (const visited of path) visited.place = place
  return place
}

/** One step of placeOfNew: the item's place when its parent is known, else the new item it lands beside or in. */
function step(reading: Reading, item: NewItem): Place | NewItem | null {
  if (typeof item.parent === 'string') return { root: item.parent, key: item.parentSub }
  const next = item.parent ?? item.origin ?? item.rightOrigin
  if (next === null) return null
  const found = locate(reading, next)
  if (found === null) return null
  if (!(found instanceof Y.Item)) return item.parent !== null && !found.isType ? null : found
  if (item.parent !== null && (!(found.content instanceof Y.ContentType) || found.deleted)) return null // Yjs drops what goes into a deleted type
  return placeInDoc(reading, found)
}

function valueAfter(reading: Reading, spec: Y.Map<unknown> | null, key: string): string | null {
  return str(reading.firstValues?.has(key) ? reading.firstValues.get(key) : spec?.get(key))
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}
