// What one update may make Yjs do before the relay applies it: how deep it nests types
// (checkNesting) and how many items placing its new items could make Yjs step over (checkScan).
// Over either bound the update is refused before anything is applied, whatever else it holds.
import * as Y from 'yjs'
import { locate, readUpdate, referencesKnown, FOLLOWING, type NewItem, type Reading } from './update-reading.ts'

/** How deep types may be nested: labsync's documents go 4 deep (spec.items[i].crop). */
export const MAX_NESTING = 32

/**
 * An update that would nest a type deeper than MAX_NESTING. Yjs walks from every type an update
 * changes up to the top (callTypeObservers), so an update touching each of n maps nested n deep
 * costs n²/2 steps: 4,000 deep took 1.3 s, and a 4 MiB document could hold 170,000. Thrown by
 * readShape before anything is applied; the room lets it through, and the socket is closed as
 * sending a malformed message (Close.BadMessage).
 */
export class UpdateTooDeep extends Error {
  constructor() {
    super(`update refused: it nests types more than ${MAX_NESTING} deep`)
  }
}

/** Throws UpdateTooDeep when one of the update's new types would be nested deeper than MAX_NESTING. */
export function checkNesting(reading: Reading, items: NewItem[]): void {
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
    const known = reading.typeDepths?.get(type)
    if (known !== undefined) { depth = known; break }
    if (type._item === null) break
    path.push(type)
    type = type._item.parent as Y.AbstractType<any>
  }
  const depths = reading.typeDepths ??= new Map()
  for (let i = path.length - 1; i >= 0; i--) depths.set(path[i], ++depth)
  return depths.get(start) ?? depth
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
 * Thrown by readShape before anything is applied, like UpdateTooDeep (the socket is closed with Close.BadMessage).
 */
export class UpdateTooCostly extends Error {
  constructor() {
    super(`update refused: placing its items could make Yjs step over more than ${MAX_SCAN_STEPS} items`)
  }
}

/** The start of a list, or of one key's values in a map (type null: a type the update makes, empty so far). */
export interface SeqStart {
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
export type LeftAnchor = Y.Item | SeqStart | null

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
export function checkScan(reading: Reading, items: NewItem[]): number {
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
  const read = readUpdate(doc, update)
  return read === null ? 0 : checkScan(read.reading, read.items)
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
