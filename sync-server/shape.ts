// What an incoming update would change: which top-level maps it touches and, inside `spec`,
// which keys. Read off the update's structure where that is certain (readShape), else found by
// applying it to a scratch copy of the document (tryUpdate). What a single update may cost the
// relay is bounded in update-cost.ts; the update's bytes are read in update-reading.ts.
import * as Y from 'yjs'
import type { WriteShape } from '../shared/rights.ts'
import type { OrderState } from '../shared/schema.ts'
import { locate, readUpdate, referencesKnown, FOLLOWING, type NewItem, type Place, type Range, type Reading } from './update-reading.ts'
import { checkNesting, checkScan } from './update-cost.ts'

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
/** The spec keys whose value after a write the rights table reads. */
const VALUE_KEYS = new Set(['state', 'user', 'id'])

/**
 * Reports an update's shape from its structure alone and the document it would be applied to,
 * without applying it anywhere: for the common write, this replaces building and updating a
 * scratch copy. Returns null whenever that is not certain to give tryUpdate's answer: the update
 * overlaps or skips ahead of what the document has, refers to something neither has, touches a
 * deleted type, changes nothing, holds content it leaves to tryUpdate (see readItem in update-reading.ts), or changes
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
  const read = readUpdate(doc, update)
  if (read === null) return null
  const { reading, fresh } = read
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
  const deleted = noteDeletes(doc, reading, read.deletes, maps, specKeys)
  if (deleted === null) return null
  places += deleted
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

/**
 * Notes where each item the update deletes is, and returns how many; null when one is new,
 * unknown, or a spec value whose value after the delete only tryUpdate can tell.
 */
function noteDeletes(doc: Y.Doc, reading: Reading, deletes: Map<number, Range[]>, maps: Set<string>, specKeys: Set<string>): number | null {
  let places = 0
  for (const [client, ranges] of deletes) {
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
  return places
}

function note({ root, key }: Place, maps: Set<string>, specKeys: Set<string>): void {
  maps.add(root)
  if (root === 'spec') specKeys.add(key ?? '(array)')
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
    const known = reading.typePlaces?.get(type)
    if (known !== undefined) { place = known; break }
    path.push(type)
    const item = type._item!
    if (item.deleted) { place = null; break } // tryUpdate does not see changes inside deleted types
    const parent = item.parent as Y.AbstractType<any>
    if (parent._item === null) { place = rootPlace(reading, parent, item.parentSub); break }
    type = parent
  }
  reading.typePlaces ??= new Map()
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


/**
 * A new item lands where its parent item, or its neighbour, is: follow them to the document. Every
 * new item on the way lands in the same place, so each remembers it, and a later item naming one of
 * them stops there: a run of pushed items, each naming the one before, is walked through once.
 */
function placeOfNew(reading: Reading, start: NewItem): Place | null {
  if (start.place !== undefined) return start.place === FOLLOWING ? null : start.place
  start.place = FOLLOWING
  const first = step(reading, start)
  // Most items get there in one step: no path to remember (an array per item was a tenth of what judging a write allocated).
  if (first === null || !('id' in first)) return start.place = first
  const path: NewItem[] = [start]
  let item = first
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
