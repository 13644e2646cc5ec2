// Works out what an incoming update would change, by applying it to a scratch copy of the
// document first: which top-level maps it touches and, inside `spec`, which keys.
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

/**
 * What readShape works with. Its helpers are module functions over this, not closures: tsx keeps
 * function names (esbuild keepNames), which wraps every closure made per call in a __name call.
 */
interface Reading {
  doc: Y.Doc
  /** The update's items per client, in clock order, each continuing the document's state. */
  fresh: Map<number, Y.Item[]>
  rootNames: Map<Y.AbstractType<any>, string> | null
  /** First values the update gives spec.state, spec.user or spec.id (see firstValue). */
  firstValues: Map<string, unknown> | null
}

/** The spec keys whose value after a write the rights table reads. */
const VALUE_KEYS = new Set(['state', 'user', 'id'])

/**
 * Reports an update's shape from its structure alone (Y.decodeUpdate) and the document it would
 * be applied to, without applying it anywhere: for the common write, this replaces building and
 * updating a scratch copy. Returns null whenever that is not certain to give tryUpdate's answer:
 * the update overlaps or skips ahead of what the document has, refers to something neither has,
 * touches a deleted type, changes nothing, or changes spec.state, spec.user or spec.id other than
 * by giving one its first value (their value after the write tryUpdate reads off the result).
 * The caller then uses tryUpdate.
 */
export function readShape(doc: Y.Doc, update: Uint8Array): Trial | null {
  const { structs, ds } = Y.decodeUpdate(update)
  const fresh = new Map<number, Y.Item[]>()
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) return null
    const { client, clock } = struct.id
    const list = fresh.get(client)
    const next = list ? list[list.length - 1].id.clock + list[list.length - 1].length : Y.getState(doc.store, client)
    if (clock !== next) return null
    if (list) list.push(struct)
    else fresh.set(client, [struct])
  }
  const reading: Reading = { doc, fresh, rootNames: null, firstValues: null }
  const maps = new Set<string>()
  const specKeys = new Set<string>()
  let places = 0
  for (const list of fresh.values()) {
    for (const item of list) {
      if (!referencesKnown(reading, item)) return null // Yjs would hold it back: tryUpdate says incomplete
      const place = placeOfNew(reading, item)
      if (place === null) return null
      if (place.root === 'spec' && VALUE_KEYS.has(place.key!) && !firstValue(reading, item, place.key!)) return null
      note(place, maps, specKeys)
      places++
    }
  }
  for (const [client, ranges] of ds.clients) {
    const state = Y.getState(doc.store, client)
    const stored = doc.store.clients.get(client)
    for (const { clock, len } of ranges) {
      if (clock + len > state || !stored) return null // deletes something new or unknown
      for (let i = Y.findIndexSS(stored, clock); i < stored.length && stored[i].id.clock < clock + len; i++) {
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

/**
 * The value of spec.<key> after the write, when certain from the update alone: the key was never
 * set in the document and this is the update's only item for it, set straight on spec with no
 * neighbours (a new order's first write). Yjs then makes this item the key's entry, so its last
 * value is what spec.get(key) gives. False otherwise; tryUpdate reads the value off the result.
 */
function firstValue(reading: Reading, item: Y.Item, key: string): boolean {
  if ((item.parent as unknown) !== 'spec' || item.parentSub !== key || item.origin !== null || item.rightOrigin !== null) return false
  const spec = reading.doc.share.get('spec')
  if (spec !== undefined && spec._map.has(key)) return false
  reading.firstValues ??= new Map()
  if (reading.firstValues.has(key)) return false
  reading.firstValues.set(key, item.content.getContent()[item.length - 1])
  return true
}

function placeInDoc(reading: Reading, item: Y.Item): Place | null {
  let type = item.parent
  let key = item.parentSub
  if (!(type instanceof Y.AbstractType)) return null
  while (type._item !== null) {
    if (type._item.deleted) return null // tryUpdate does not see changes inside deleted types
    key = type._item.parentSub
    type = type._item.parent as Y.AbstractType<any>
  }
  if (reading.rootNames === null) {
    reading.rootNames = new Map()
    for (const [name, root] of reading.doc.share) reading.rootNames.set(root, name)
  }
  const root = reading.rootNames.get(type)
  return root === undefined ? null : { root, key }
}

/** The item holding `id`, in the document or among the update's new items; null when neither has it. */
function locate(reading: Reading, id: Y.ID): { item: Y.Item; inDoc: boolean } | null {
  const store = reading.doc.store
  if (id.clock < Y.getState(store, id.client)) {
    const struct = Y.getItem(store, id)
    return struct instanceof Y.Item ? { item: struct, inDoc: true } : null
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
    else return { item, inDoc: false }
  }
  return null
}

/**
 * Whether every item a new item refers to (its left and right neighbours when it was made, and its
 * parent item) is in the document or in the update, as Yjs requires before integrating it.
 */
function referencesKnown(reading: Reading, item: Y.Item): boolean {
  return known(reading, item.origin) && known(reading, item.rightOrigin) && known(reading, item.parent instanceof Y.ID ? item.parent : null)
}

const known = (reading: Reading, id: Y.ID | null): boolean => id === null || locate(reading, id) !== null

/** A new item lands where its parent item, or its neighbour, is: follow them to the document. */
function placeOfNew(reading: Reading, start: Y.Item): Place | null {
  let item = start
  for (let hops = 0; hops < 100_000; hops++) {
    const parent = item.parent as unknown
    if (typeof parent === 'string') return { root: parent, key: item.parentSub }
    const next = parent instanceof Y.ID ? parent : (item.origin ?? item.rightOrigin)
    if (next === null) return null
    const found = locate(reading, next)
    if (found === null) return null
    if (parent instanceof Y.ID && !(found.item.content instanceof Y.ContentType)) return null
    if (found.inDoc) return placeInDoc(reading, found.item)
    item = found.item
  }
  return null
}

function valueAfter(reading: Reading, spec: Y.Map<unknown> | null, key: string): string | null {
  return str(reading.firstValues?.has(key) ? reading.firstValues.get(key) : spec?.get(key))
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}
