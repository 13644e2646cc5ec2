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

/** How deep types may be nested: labsync's documents go 4 deep (spec.items[i].crop). */
export const MAX_NESTING = 32

/**
 * An update that would nest a type deeper than MAX_NESTING. Yjs walks from every type an update
 * changes up to the top (callTypeObservers), so an update touching each of n maps nested n deep
 * costs n²/2 steps: 4,000 deep took 1.3 s, and a 4 MiB document could hold 170,000. Thrown by
 * readShape before anything is applied; the room lets it through, and the socket is closed as
 * sending a malformed message (4400).
 */
export class UpdateTooDeep extends Error {
  constructor() {
    super(`update refused: it nests types more than ${MAX_NESTING} deep`)
  }
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
  /** How deep each type of the document is nested (depthOfType). */
  typeDepths: Map<Y.AbstractType<any>, number>
}

/** The spec keys whose value after a write the rights table reads. */
const VALUE_KEYS = new Set(['state', 'user', 'id'])

/**
 * Reports an update's shape from its structure alone and the document it would be applied to,
 * without applying it anywhere: for the common write, this replaces building and updating a
 * scratch copy. Returns null whenever that is not certain to give tryUpdate's answer: the update
 * overlaps or skips ahead of what the document has, refers to something neither has, touches a
 * deleted type, changes nothing, holds content it leaves to tryUpdate (see readItem), or changes
 * spec.state, spec.user or spec.id other than by giving one its first value (their value after the
 * write tryUpdate reads off the result). The caller then uses tryUpdate. Throws UpdateTooDeep,
 * whatever else the update holds, when it would nest types more than MAX_NESTING deep, and
 * UpdateTooCostly when placing its items could make Yjs step over more than MAX_SCAN_STEPS items.
 *
 * Linear in the update's size: the bytes are read once, without building Yjs's objects; each new
 * item is followed to its place (placeOfNew) and depth (depthIn) once, each nested type of the
 * document once (placeOfType, depthOfType), each deleted item once.
 */
export function readShape(doc: Y.Doc, update: Uint8Array): Trial | null {
  const read = readNew(update)
  if (read === null) return null
  const fresh = new Map<number, NewItem[]>()
  for (const item of read.items) {
    const list = fresh.get(item.id.client)
    if (list) list.push(item)
    else fresh.set(item.id.client, [item])
  }
  for (const list of fresh.values()) list.sort(byClock) // for locate; an update has them in order already
  const reading: Reading = { doc, fresh, rootNames: null, firstValues: null, typePlaces: new Map(), typeDepths: new Map() }
  // Before anything else, on every update however it is judged afterwards (see UpdateTooDeep,
  // UpdateTooCostly).
  checkNesting(reading, read.items)
  checkScan(reading, read.items)
  if (read.items.some((item) => item.unsure)) return null
  for (const [client, list] of fresh) {
    let next = Y.getState(doc.store, client)
    for (const item of list) {
      if (item.id.clock !== next) return null // overlaps or skips ahead of what the document has
      next += item.length
    }
  }
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

const byClock = (a: NewItem, b: NewItem) => a.id.clock - b.id.clock

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
    return newItem(client, clock, decoding.readVarUint(decoder), null, null, null, null, false, true, null)
  }
  const origin = (info & BIT8) !== 0 ? readID(decoder) : null
  const rightOrigin = (info & BIT7) !== 0 ? readID(decoder) : null
  // Without neighbours, the parent is given: a top-level type's name or the ID of the item holding it.
  const parentGiven = (info & (BIT7 | BIT8)) === 0
  const parent = !parentGiven ? null : decoding.readVarUint(decoder) === 1 ? decoding.readVarString(decoder) : readID(decoder)
  const parentSub = parentGiven && (info & BIT6) !== 0 ? decoding.readVarString(decoder) : null
  let length = 1
  let isType = false
  let unsure = false
  let specValues: unknown[] | null = null
  switch (info & BITS5) {
    case 1: // deleted
      length = decoding.readVarUint(decoder)
      break
    case 2: // JSON (old clients)
      length = decoding.readVarUint(decoder)
      for (let i = 0; i < length; i++) {
        const json = decoding.readVarString(decoder)
        if (json !== 'undefined') JSON.parse(json)
      }
      unsure = true
      break
    case 3: // binary
      decoding.readVarUint8Array(decoder)
      break
    case 4: // string (Y.Text): its length counts UTF-16 code units, as Yjs's does
      length = decoding.readVarString(decoder).length
      break
    case 5: // embed
      JSON.parse(decoding.readVarString(decoder))
      unsure = true
      break
    case 6: // format
      decoding.readVarString(decoder)
      JSON.parse(decoding.readVarString(decoder))
      unsure = true
      break
    case 7: { // a type: Y.Array, Y.Map, Y.Text, or an XML type (left to tryUpdate)
      const typeRef = decoding.readVarUint(decoder)
      if (typeRef > 6) throw new Error(`unknown type ${typeRef}`)
      if (typeRef === 3 || typeRef === 5) decoding.readVarString(decoder) // an XML element's or hook's name
      isType = true
      unsure = typeRef > 2
      break
    }
    case 8: { // plain values
      length = decoding.readVarUint(decoder)
      const values: unknown[] = []
      for (let i = 0; i < length; i++) values.push(decoding.readAny(decoder))
      if (parent === 'spec') specValues = values
      break
    }
    case 9: // a subdocument
      decoding.readVarString(decoder)
      decoding.readAny(decoder)
      unsure = true
      break
    default:
      throw new Error(`unknown content ${info & BITS5}`)
  }
  return newItem(client, clock, length, origin, rightOrigin, parent, parentSub, isType, unsure || length < 1, specValues)
}

function newItem(
  client: number, clock: number, length: number, origin: Y.ID | null, rightOrigin: Y.ID | null, parent: string | Y.ID | null,
  parentSub: string | null, isType: boolean, unsure: boolean, specValues: unknown[] | null,
): NewItem {
  return {
    id: Y.createID(client, clock), length, origin, rightOrigin, parent, parentSub, isType, unsure, specValues, place: undefined, depth: undefined,
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

/** Throws UpdateTooDeep when one of the update's new types would be nested deeper than MAX_NESTING. */
function checkNesting(reading: Reading, items: NewItem[]): void {
  for (const item of items) {
    if (item.isType && depthIn(reading, item) + 1 > MAX_NESTING) throw new UpdateTooDeep()
  }
}

/**
 * How deep the type a new item lands in is nested (0 when unknown: Yjs cannot place the item
 * either, and holds it back or drops it). Found as Yjs finds the item's parent: given, or its left
 * neighbour's, or its right one's. Remembered for every new item on the way, so the update is
 * walked through once; a loop, not recursion, however long the chain of items and parents.
 */
function depthIn(reading: Reading, start: NewItem): number {
  const path: NewItem[] = []
  /** ups[i]: 1 when path[i] lands inside the type path[i + 1] holds, 0 when beside it. */
  const ups: number[] = []
  let item = start
  let depth: number
  for (;;) {
    if (item.depth !== undefined) {
      depth = item.depth === FOLLOWING ? 0 : item.depth
      break
    }
    item.depth = FOLLOWING
    path.push(item)
    const next = depthStep(reading, item)
    if (typeof next === 'number') { depth = next; break }
    ups.push(item.parent !== null ? 1 : 0)
    item = next
  }
  // `depth` is where the last item on the path leads; walk back adding the levels stepped up.
  for (let i = path.length - 1; i >= 0; i--) {
    if (i < ups.length && depth !== 0) depth += ups[i]
    path[i].depth = depth
  }
  return start.depth as number
}

/** One step of depthIn: the depth when the item's parent is a type of the document, else the new item it lands in or beside. */
function depthStep(reading: Reading, item: NewItem): number | NewItem {
  if (typeof item.parent === 'string') return 1
  if (item.parent !== null) {
    const holder = locate(reading, item.parent)
    if (holder === null) return 0
    if (!(holder instanceof Y.Item)) return holder.isType ? holder : 0
    return holder.content instanceof Y.ContentType ? depthOfType(reading, holder.content.type) : 0
  }
  const id = item.origin ?? item.rightOrigin
  const neighbour = id === null ? null : locate(reading, id)
  if (neighbour === null) return 0
  if (!(neighbour instanceof Y.Item)) return neighbour
  return neighbour.parent instanceof Y.AbstractType ? depthOfType(reading, neighbour.parent) : 0
}

/** How deep a type of the document is nested (a top-level type: 1), remembered for each on the way up. */
function depthOfType(reading: Reading, start: Y.AbstractType<any>): number {
  const path: Y.AbstractType<any>[] = []
  let type = start
  let depth = 1
  for (;;) {
    const known = reading.typeDepths.get(type)
    if (known !== undefined) { depth = known; break }
    if (type._item === null) break
    path.push(type)
    type = type._item.parent as Y.AbstractType<any>
  }
  for (let i = path.length - 1; i >= 0; i--) reading.typeDepths.set(path[i], ++depth)
  return reading.typeDepths.get(start) ?? depth
}

function valueAfter(reading: Reading, spec: Y.Map<unknown> | null, key: string): string | null {
  return str(reading.firstValues?.has(key) ? reading.firstValues.get(key) : spec?.get(key))
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

/**
 * How many items Yjs may be made to step over while placing one update's items (Item.integrate's
 * conflict scan, and its walk to a map key's first value). An honest update costs next to nothing
 * here (see checkScan); each step costs Yjs about 0.3–0.5 µs, so this keeps any one update's
 * placing to some tens of milliseconds.
 */
export const MAX_SCAN_STEPS = 100_000

/**
 * An update whose items Yjs could have to place by stepping over more than MAX_SCAN_STEPS items.
 * Yjs places an item between its left and right neighbours when it was made (origin and
 * rightOrigin) by scanning every item now between them, and an item with no left neighbour in a
 * map by walking all the key's values: 841 bytes putting 100 values far from their right neighbour
 * in a 100,000-entry list froze the relay for 4 s, and 40,000 first values for one key 4.5 s.
 * Thrown by readShape before anything is applied, like UpdateTooDeep (the socket is closed 4400).
 */
export class UpdateTooCostly extends Error {
  constructor() {
    super(`update refused: placing its items could make Yjs step over more than ${MAX_SCAN_STEPS} items`)
  }
}

/** The start of a list, or of one key's values in a map (type null: a type the update makes, empty so far). */
interface SeqStart {
  type: Y.AbstractType<any> | null
  key: string | null
  /** New items whose left anchor this is, and new items in this list or key. */
  anchored: number
  values: number
  /** A map key's first value in the document and how many values it has, once firstOf has walked them. */
  first: { item: Y.Item | null; count: number } | undefined
  walks: Map<Y.Item | null, number> | undefined
}

/**
 * Where a new item's scan may start: a document item (its origin, or the one its chain of new
 * origins leads to), or the start of a list or key; null when Yjs would not place it now.
 */
type LeftAnchor = Y.Item | SeqStart | null

interface Scan {
  reading: Reading
  /** SeqStarts by type (or the new item holding a new type), then key. */
  seqs: Map<Y.AbstractType<any> | NewItem | string, Map<string | null, SeqStart>>
  /** New items whose left anchor is a document item. */
  anchored: Map<Y.Item, number>
  walks: Map<Y.Item, Map<Y.Item | null, number>>
  steps: number
}

/**
 * Throws UpdateTooCostly when placing the update's new items could make Yjs step over more than
 * MAX_SCAN_STEPS items. An upper bound, read off the update and the document without applying
 * anything, charged per new item X with origin O and right origin R (see Item.integrate):
 * - Yjs scans from O's right neighbour towards R, and every item it steps over but the last
 *   descends from O by origins (its origin is O or an item already stepped over). So when O is
 *   new, the scan meets only new items: the subtrees of X's siblings under O. When O is in the
 *   document (or X has none: the start of its list or key), it meets the document's items up to R
 *   (R being new: up to the document item R's chain of right origins leads to, or the end) and new
 *   items anchored on O or on those: each such walk is made once per (anchor, right anchor) and
 *   charged for every item.
 * - An item with no left neighbour in a map walks the key's values to the first, twice: all of them.
 * Nothing is charged for an honest push of n items (one chain of origins), about n for two
 * devices' n items each at the same place, n² for n items sharing one origin, as Yjs spends.
 * Linear: each new item is followed once, and no walk goes past the budget.
 */
function checkScan(reading: Reading, items: NewItem[]): number {
  const scan: Scan = { reading, seqs: new Map(), anchored: new Map(), walks: new Map(), steps: 0 }
  const placed: NewItem[] = []
  for (const item of items) {
    if (item.origin === null && item.rightOrigin === null && item.parent === null) continue // a gap or a GC range
    const state = Y.getState(reading.doc.store, item.id.client)
    if (item.id.clock + item.length <= state || !referencesKnown(reading, item)) continue // Yjs has it already, or holds it back
    // Of an item the document has part of, Yjs places the rest after its own item before it.
    const origin = item.id.clock < state ? Y.createID(item.id.client, state - 1) : item.origin
    item.left = origin === null ? null : locate(reading, origin)
    item.subtree = 1
    placed.push(item)
  }
  countSubtrees(placed)
  for (const item of placed) {
    const anchor = leftAnchorOf(scan, item)
    if (anchor instanceof Y.Item) scan.anchored.set(anchor, (scan.anchored.get(anchor) ?? 0) + 1)
    else if (anchor !== null) anchor.anchored++
    const seq = seqOf(scan, item)
    if (seq !== null) seq.values++
  }
  for (const item of placed) charge(scan, item)
  return scan.steps
}

/**
 * The steps checkScan charges an update on `doc` (what readShape checks against MAX_SCAN_STEPS),
 * for tests and benchmarks; throws UpdateTooCostly past the budget, 0 for bytes Yjs cannot read.
 */
export function scanSteps(doc: Y.Doc, update: Uint8Array): number {
  const read = readNew(update)
  if (read === null) return 0
  const fresh = new Map<number, NewItem[]>()
  for (const item of read.items) {
    const list = fresh.get(item.id.client)
    if (list) list.push(item)
    else fresh.set(item.id.client, [item])
  }
  for (const list of fresh.values()) list.sort(byClock)
  return checkScan({ doc, fresh, rootNames: null, firstValues: null, typePlaces: new Map(), typeDepths: new Map() }, read.items)
}

function spend(scan: Scan, steps: number): void {
  scan.steps += steps
  if (scan.steps > MAX_SCAN_STEPS) throw new UpdateTooCostly()
}

/** Charges what placing one new item could make Yjs step over (see checkScan). */
function charge(scan: Scan, item: NewItem): void {
  const left = item.left!
  if (left !== null && !(left instanceof Y.Item)) {
    // A new left neighbour: only the subtrees of this item's siblings under it are in the way.
    if (left.subtree !== undefined) spend(scan, left.subtree - 1 - item.subtree!)
    return
  }
  const anchor: LeftAnchor = left ?? seqOf(scan, item)
  if (anchor === null) return
  const anchored = isStart(anchor) ? anchor.anchored : scan.anchored.get(anchor) ?? 0
  spend(scan, walk(scan, anchor, rightAnchorOf(scan.reading, item)) + anchored - item.subtree!)
  if (left === null && isStart(anchor) && anchor.key !== null) {
    // No left neighbour in a map: Yjs walks to the key's first value, twice.
    spend(scan, 2 * (firstOf(scan, anchor).count + anchor.values - 1))
  }
}

const isStart = (anchor: Y.Item | SeqStart): anchor is SeqStart => !(anchor instanceof Y.Item)

/**
 * Document items from an anchor (exclusive) to a right anchor (exclusive; null: the end), each
 * counting itself and the new items anchored on it. Walked once per pair, never past the budget.
 */
function walk(scan: Scan, from: Y.Item | SeqStart, to: Y.Item | null): number {
  let o: Y.Item | null
  if (from instanceof Y.Item) o = from.right
  else if (from.type === null) return 0
  else o = from.key !== null ? firstOf(scan, from).item : from.type._start
  if (o === to || o === null) return 0
  let memo = from instanceof Y.Item ? scan.walks.get(from) : from.walks
  if (memo === undefined) {
    memo = new Map()
    if (from instanceof Y.Item) scan.walks.set(from, memo)
    else from.walks = memo
  }
  const known = memo.get(to)
  if (known !== undefined) return known
  let steps = 0
  while (o !== null && o !== to) {
    steps += 1 + (scan.anchored.get(o) ?? 0)
    if (scan.steps + steps > MAX_SCAN_STEPS) throw new UpdateTooCostly()
    o = o.right
  }
  memo.set(to, steps)
  return steps
}

/** A map key's first value in the document, and how many it has; walked once per key, within the budget. */
function firstOf(scan: Scan, seq: SeqStart): { item: Y.Item | null; count: number } {
  if (seq.first !== undefined) return seq.first
  let item = seq.type?._map.get(seq.key!) ?? null
  let count = item === null ? 0 : 1
  while (item !== null && item.left !== null) {
    item = item.left
    if (scan.steps + ++count > MAX_SCAN_STEPS) throw new UpdateTooCostly()
  }
  return seq.first = { item, count }
}

/** How many new items descend from each new item by left neighbours (itself included), deepest first. */
function countSubtrees(placed: NewItem[]): void {
  const byDepth: NewItem[][] = []
  for (const item of placed) {
    const depth = originDepth(item)
    if (depth > 0) (byDepth[depth] ??= []).push(item)
  }
  for (let depth = byDepth.length - 1; depth > 0; depth--) {
    for (const item of byDepth[depth] ?? []) (item.left as NewItem).subtree! += item.subtree!
  }
}

/** How many new left neighbours lead from a new item to the document or a start (0: none); -1 in a loop or held back. */
function originDepth(start: NewItem): number {
  if (start.left === null || start.left instanceof Y.Item) return start.originDepth = 0 // most items: no array made
  const path: NewItem[] = []
  let item = start
  let below = -1
  for (;;) {
    if (item.subtree === undefined) { below = -2; break } // not placed now: Yjs holds it back
    if (item.originDepth !== undefined) { below = item.originDepth === FOLLOWING ? -2 : item.originDepth; break }
    item.originDepth = FOLLOWING
    path.push(item)
    const left = item.left!
    if (left === null || left instanceof Y.Item) break
    item = left
  }
  for (let i = path.length - 1; i >= 0; i--) path[i].originDepth = below = below < -1 ? -2 : below + 1
  return start.originDepth === -2 ? -1 : start.originDepth as number
}

/** The document item, or start of a list or key, that a new item's chain of new left neighbours leads to. */
function leftAnchorOf(scan: Scan, start: NewItem): LeftAnchor {
  if (start.left instanceof Y.Item) return start.leftAnchor = start.left
  if (start.left === null) return start.leftAnchor = seqOf(scan, start)
  const path: NewItem[] = []
  let item = start
  let anchor: LeftAnchor
  for (;;) {
    if (item.subtree === undefined) { anchor = null; break }
    if (item.leftAnchor !== undefined) { anchor = item.leftAnchor === FOLLOWING ? null : item.leftAnchor; break }
    item.leftAnchor = FOLLOWING
    path.push(item)
    const left = item.left!
    if (left === null) { anchor = seqOf(scan, item); break }
    if (left instanceof Y.Item) { anchor = left; break }
    item = left
  }
  for (const visited of path) visited.leftAnchor = anchor
  return anchor
}

/** The document item a new item's chain of right origins leads to; null: the end. */
function rightAnchorOf(reading: Reading, start: NewItem): Y.Item | null {
  if (start.rightOrigin === null) return null
  const path: NewItem[] = []
  let item = start
  let anchor: Y.Item | null
  for (;;) {
    if (item.rightAnchor !== undefined) { anchor = item.rightAnchor === FOLLOWING ? null : item.rightAnchor; break }
    item.rightAnchor = FOLLOWING
    path.push(item)
    const right = item.rightOrigin === null ? null : locate(reading, item.rightOrigin)
    if (right === null || right instanceof Y.Item) { anchor = right; break }
    item = right
  }
  for (const visited of path) visited.rightAnchor = anchor
  return anchor
}

/**
 * The list or map key a new item goes in, as Yjs finds it: its given parent and key, or its left
 * neighbour's, or its right one's. Null when Yjs could not place it.
 */
function seqOf(scan: Scan, start: NewItem): SeqStart | null {
  if (start.seq !== undefined) return start.seq === FOLLOWING ? null : start.seq
  if (start.parent !== null) return start.seq = givenSeq(scan, start.parent, start.parentSub)
  const path: NewItem[] = []
  let item = start
  let seq: SeqStart | null
  for (;;) {
    if (item.seq !== undefined) { seq = item.seq === FOLLOWING ? null : item.seq; break }
    if (item.subtree === undefined) { seq = null; break } // not placed now (a gap, or held back)
    item.seq = FOLLOWING
    path.push(item)
    if (item.parent !== null) { seq = givenSeq(scan, item.parent, item.parentSub); break }
    const next = locate(scan.reading, (item.origin ?? item.rightOrigin)!)
    if (next === null) { seq = null; break }
    if (next instanceof Y.Item) { seq = next.parent instanceof Y.AbstractType ? seqStart(scan, next.parent, next.parentSub) : null; break }
    item = next
  }
  for (const visited of path) visited.seq = seq
  return seq
}

function givenSeq(scan: Scan, parent: string | Y.ID, key: string | null): SeqStart | null {
  if (typeof parent === 'string') {
    const root = scan.reading.doc.share.get(parent)
    return seqStart(scan, root ?? `r:${parent}`, key) // a top-level type the document lacks is empty
  }
  const holder = locate(scan.reading, parent)
  if (holder === null) return null
  if (!(holder instanceof Y.Item)) return seqStart(scan, holder, key) // a new type: empty
  return holder.content instanceof Y.ContentType ? seqStart(scan, holder.content.type, key) : null
}

/** One SeqStart per list or key: of a type of the document, or of one still empty (new, or a missing top-level name). */
function seqStart(scan: Scan, type: Y.AbstractType<any> | NewItem | string, key: string | null): SeqStart {
  if (typeof type === 'object' && !(type instanceof Y.AbstractType)) return newTypeSeq(type, key)
  let byKey = scan.seqs.get(type)
  if (byKey === undefined) scan.seqs.set(type, byKey = new Map())
  let seq = byKey.get(key)
  if (seq === undefined) byKey.set(key, seq = emptySeq(type instanceof Y.AbstractType ? type : null, key))
  return seq
}

const emptySeq = (type: Y.AbstractType<any> | null, key: string | null): SeqStart => ({ type, key, anchored: 0, values: 0, first: undefined, walks: undefined })

/**
 * The SeqStart of a key (or the list) of a type the update makes, kept on the item holding it: in
 * a short array (a pushed map has a few keys, and a Map for each of 60,000 cost more than the rest
 * of the check), a Map once it holds more.
 */
function newTypeSeq(holder: NewItem, key: string | null): SeqStart {
  const seqs = holder.seqs ??= []
  if (Array.isArray(seqs)) {
    for (const seq of seqs) if (seq.key === key) return seq
    const seq = emptySeq(null, key)
    if (seqs.length < 8) seqs.push(seq)
    else holder.seqs = new Map([...seqs.map((s): [string | null, SeqStart] => [s.key, s]), [key, seq]])
    return seq
  }
  let seq = seqs.get(key)
  if (seq === undefined) seqs.set(key, seq = emptySeq(null, key))
  return seq
}
