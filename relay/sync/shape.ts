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
  const str = (v: unknown) => (typeof v === 'string' ? v : null)
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
 * Reports an update's shape from its structure alone (Y.decodeUpdate) and the document it would
 * be applied to, without applying it anywhere: for the common write, this replaces building and
 * updating a scratch copy. Returns null whenever that is not certain to give tryUpdate's answer:
 * the update overlaps or skips ahead of what the document has, refers to something neither has,
 * touches a deleted type, changes nothing, or sets spec.state, spec.user or spec.id (whose value
 * after the write tryUpdate reads off the result). The caller then uses tryUpdate.
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
  const places: Place[] = []
  let rootNames: Map<Y.AbstractType<any>, string> | null = null
  const placeInDoc = (item: Y.Item): Place | null => {
    let type = item.parent
    let key = item.parentSub
    if (!(type instanceof Y.AbstractType)) return null
    while (type._item !== null) {
      if (type._item.deleted) return null // tryUpdate does not see changes inside deleted types
      key = type._item.parentSub
      type = type._item.parent as Y.AbstractType<any>
    }
    if (rootNames === null) {
      rootNames = new Map()
      for (const [name, root] of doc.share) rootNames.set(root, name)
    }
    const root = rootNames.get(type)
    return root === undefined ? null : { root, key }
  }
  const locate = (id: Y.ID): { item: Y.Item; inDoc: boolean } | null => {
    if (id.clock < Y.getState(doc.store, id.client)) {
      const struct = Y.getItem(doc.store, id)
      return struct instanceof Y.Item ? { item: struct, inDoc: true } : null
    }
    const list = fresh.get(id.client)
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
  // A new item lands where its parent item, or its neighbour, is: follow them to the document.
  const placeOfNew = (start: Y.Item): Place | null => {
    let item = start
    for (let hops = 0; hops < 100_000; hops++) {
      const parent = item.parent as unknown
      if (typeof parent === 'string') return { root: parent, key: item.parentSub }
      const next = parent instanceof Y.ID ? parent : (item.origin ?? item.rightOrigin)
      if (next === null) return null
      const found = locate(next)
      if (found === null) return null
      if (parent instanceof Y.ID && !(found.item.content instanceof Y.ContentType)) return null
      if (found.inDoc) return placeInDoc(found.item)
      item = found.item
    }
    return null
  }
  for (const list of fresh.values()) {
    for (const item of list) {
      const place = placeOfNew(item)
      if (place === null) return null
      places.push(place)
    }
  }
  let deleted = false
  for (const [client, ranges] of ds.clients) {
    const state = Y.getState(doc.store, client)
    const stored = doc.store.clients.get(client)
    for (const { clock, len } of ranges) {
      if (clock + len > state || !stored) return null // deletes something new or unknown
      for (let i = Y.findIndexSS(stored, clock); i < stored.length && stored[i].id.clock < clock + len; i++) {
        const struct = stored[i]
        if (!(struct instanceof Y.Item) || struct.deleted) continue
        const place = placeInDoc(struct)
        if (place === null) return null
        places.push(place)
        deleted = true
      }
    }
  }
  if (places.length === 0 && !deleted) return null
  const maps = new Set<string>()
  const specKeys = new Set<string>()
  for (const { root, key } of places) {
    maps.add(root)
    if (root !== 'spec') continue
    if (key === 'state' || key === 'user' || key === 'id') return null
    specKeys.add(key ?? '(array)')
  }
  const spec = doc.share.has('spec') ? doc.getMap('spec') : null
  const str = (v: unknown) => (typeof v === 'string' ? v : null)
  return {
    shape: { maps, specKeys, nextState: str(spec?.get('state')) as OrderState | null, nextUser: str(spec?.get('user')), nextId: str(spec?.get('id')) },
    changed: true,
    incomplete: false,
  }
}
