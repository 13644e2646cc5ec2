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
