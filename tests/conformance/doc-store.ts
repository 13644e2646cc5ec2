// The acceptance suite every DocStore implementation runs against itself (as automerge-repo's
// runStorageAdapterTests): each test is named for the promise of storage/doc-store.ts it checks,
// by its rule id, and observes the outcome through load() only.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import type { DocStore } from '../../storage/doc-store.ts'

/** One storage (a database file, a memory backing) that store instances are opened on. */
export interface DocStorageUnderTest {
  /** A new instance on this storage: a second one open at once is a second process on it. */
  open(): Promise<DocStore>
  /** Stops an instance as its process would on a clean exit; what resolved must stay. */
  close(store: DocStore): Promise<void>
  /** Removes the storage; called once, after every instance is closed. */
  teardown(): Promise<void>
}

/** A Yjs update that sets `key` to `value` in map `m`, from a client of its own. */
export function updateSetting(key: string, value: number): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('m').set(key, value)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/** The state the updates make, as a room would build it from load(). */
function contentOf(updates: Uint8Array[]): Record<string, unknown> {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  const content = doc.getMap('m').toJSON()
  doc.destroy()
  return content
}

/** Y.encodeStateAsUpdate of the document the updates make: what a room compacts with. */
function snapshotOf(updates: Uint8Array[]): Uint8Array {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  const snapshot = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return snapshot
}

/** Appends `mine`, then compacts with `loaded` and it: what a room does after a write. */
async function appendThenCompact(store: DocStore, loaded: Uint8Array[], mine: Uint8Array): Promise<Uint8Array> {
  await store.append('d', mine)
  const snapshot = snapshotOf([...loaded, mine])
  await store.compact('d', snapshot)
  return snapshot
}

/** Updates as plain arrays, for assert.equal. */
const listed = (updates: Uint8Array[]) => updates.map((update) => [...update])

type It = (title: string, body: Body) => void
type Body = (open: () => Promise<DocStore>, close: (store: DocStore) => Promise<void>) => Promise<void>

/**
 * Registers and runs the suite `DocStore: <name>`; every test gets fresh storage from setup().
 * `after` runs once the suite is done (a database server the storages live on is stopped there).
 */
export function runDocStoreTests(name: string, setup: () => Promise<DocStorageUnderTest>, after?: () => Promise<void>): void {
  const test = suite(`DocStore: ${name}`)
  if (after) test.after(after)
  const it = (title: string, body: Body) => test(title, async () => {
    const storage = await setup()
    const open = new Set<DocStore>()
    try {
      await body(
        async () => { const store = await storage.open(); open.add(store); return store },
        async (store) => { open.delete(store); await storage.close(store) },
      )
    } finally {
      for (const store of open) await storage.close(store)
      await storage.teardown()
    }
  })

  appendRules(it)
  compactionRules(it)
  test.run()
}

/** Appends, loads and flush [DS1]-[DS3], [DS10]. */
function appendRules(it: It): void {
  it('[DS1] an append that resolved survives closing and reopening', async (open, close) => {
    const store = await open()
    await store.append('d', updateSetting('a', 1))
    await store.append('d', updateSetting('b', 2))
    await close(store)
    assert.equal(contentOf(await (await open()).load('d')), { a: 1, b: 2 })
  })

  it('[DS2] load returns a document\'s updates in the order they were appended, and only that document\'s', async (open) => {
    const store = await open()
    const updates = [updateSetting('a', 1), updateSetting('b', 2), updateSetting('c', 3)]
    await Promise.all([store.append('d', updates[0]), store.append('other', updateSetting('x', 9)), store.append('d', updates[1]), store.append('d', updates[2])])
    assert.equal(listed(await store.load('d')), listed(updates))
  })

  it('[DS3] a document never written loads as no updates', async (open) => {
    assert.equal(await (await open()).load('never'), [])
  })

  it('[DS10] appends not awaited are stored once flush resolves', async (open) => {
    const store = await open()
    for (let i = 0; i < 50; i++) void store.append('d', updateSetting(`k${i}`, i))
    await store.flush()
    // Read by another instance while this one still runs: nothing waits for a close here.
    assert.is(Object.keys(contentOf(await (await open()).load('d'))).length, 50)
  })
}

/** Compaction [DS4]-[DS9], [DS11], [DS12]. */
function compactionRules(it: It): void {
  it('[DS4] compaction keeps an update another instance appended meanwhile', async (open) => {
    const first = await open()
    const second = await open()
    await first.append('d', updateSetting('a', 1))
    const loaded = await first.load('d')
    await second.append('d', updateSetting('other', 2))
    await appendThenCompact(first, loaded, updateSetting('b', 3))
    assert.equal(contentOf(await second.load('d')), { a: 1, b: 3, other: 2 })
  })

  it('[DS5] compaction replaces everything this instance loaded and appended with the snapshot', async (open) => {
    const writer = await open()
    const updates = [updateSetting('a', 1), updateSetting('b', 2)]
    for (const update of updates) await writer.append('d', update)
    const store = await open()
    const snapshot = await appendThenCompact(store, await store.load('d'), updateSetting('c', 3))
    assert.equal(listed(await store.load('d')), [[...snapshot]])
  })

  it('[DS6] compaction keeps an update appended after it was called', async (open) => {
    const store = await open()
    const first = updateSetting('a', 1)
    await store.append('d', first)
    const compacted = store.compact('d', snapshotOf([first]))
    const later = store.append('d', updateSetting('b', 2))
    await Promise.all([compacted, later])
    assert.equal(contentOf(await store.load('d')), { a: 1, b: 2 })
  })

  it('[DS7] a compaction that resolved survives closing and reopening', async (open, close) => {
    const store = await open()
    const updates = [updateSetting('a', 1), updateSetting('b', 2)]
    for (const update of updates) await store.append('d', update)
    const snapshot = snapshotOf(updates)
    await store.compact('d', snapshot)
    await close(store)
    assert.equal(listed(await (await open()).load('d')), [[...snapshot]])
  })

  it('[DS8] a reopened instance folds the snapshot it loaded into its own compaction', async (open, close) => {
    const store = await open()
    const first = updateSetting('a', 1)
    await store.append('d', first)
    await store.compact('d', snapshotOf([first]))
    await close(store)
    const reopened = await open()
    const snapshot = await appendThenCompact(reopened, await reopened.load('d'), updateSetting('b', 2))
    assert.equal(listed(await reopened.load('d')), [[...snapshot]])
  })

  it('[DS9] two instances compacting one document lose nothing of either', async (open) => {
    const first = await open()
    const second = await open()
    await first.append('d', updateSetting('a', 1))
    const firstLoaded = await first.load('d')
    const secondLoaded = await second.load('d')
    await appendThenCompact(first, firstLoaded, updateSetting('b', 2))
    await appendThenCompact(second, secondLoaded, updateSetting('c', 3))
    assert.equal(contentOf(await (await open()).load('d')), { a: 1, b: 2, c: 3 })
  })

  it('[DS11] compacting one document leaves the others alone', async (open) => {
    const store = await open()
    const update = updateSetting('a', 1)
    await store.append('d', update)
    await store.append('other', updateSetting('x', 9))
    await store.compact('d', snapshotOf([update]))
    assert.equal(contentOf(await store.load('other')), { x: 9 })
  })

  it('[DS13] after release, a compaction folds only what the instance appended since', async (open) => {
    const store = await open()
    const before = [updateSetting('a', 1), updateSetting('b', 2)]
    for (const update of before) await store.append('d', update)
    await store.load('d')
    store.release('d')
    const after = updateSetting('c', 3)
    const snapshot = await appendThenCompact(store, before, after)
    assert.equal(listed(await store.load('d')), [...listed(before), [...snapshot]])
    assert.equal(contentOf(await store.load('d')), { a: 1, b: 2, c: 3 })
  })

  it('[DS14] a load() made after compact() was called adds nothing to what that compaction folds', async (open) => {
    // A relay that re-reads a document while its compaction waits to commit (fan-out after a gap)
    // must not have the compaction delete an update the snapshot lacks.
    const first = await open()
    const second = await open()
    const mine = updateSetting('a', 1)
    await first.append('d', mine)
    await second.append('d', updateSetting('other', 2)) // not in first's snapshot below
    const compacted = first.compact('d', snapshotOf([mine]))
    const reread = first.load('d')
    await Promise.all([compacted, reread])
    assert.equal(contentOf(await (await open()).load('d')), { a: 1, other: 2 })
  })

  it('[DS12] compaction folds this instance\'s appends made before it even if they had not resolved', async (open) => {
    const store = await open()
    const updates = [updateSetting('a', 1), updateSetting('b', 2)]
    const appended = updates.map((update) => store.append('d', update))
    const snapshot = snapshotOf(updates)
    await Promise.all([...appended, store.compact('d', snapshot)])
    assert.equal(listed(await store.load('d')), [[...snapshot]])
  })

  it('[DS15] compactions of many documents made at once, between appends, each fold exactly their own document\'s rows', async (open) => {
    const store = await open()
    const docs = Array.from({ length: 30 }, (_, i) => `d${i}`)
    for (const doc of docs) await store.append(doc, updateSetting('before', 1))
    for (const doc of docs) await store.load(doc)
    // One turn, as a relay unloading many rooms at once makes it: appends and compactions interleaved,
    // d0 compacted twice with an append between, d1 appended after its compaction.
    const made: Array<Promise<void>> = []
    const snapshots = new Map<string, Uint8Array>()
    for (const doc of docs) {
      made.push(store.append(doc, updateSetting('again', 2)))
      const snapshot = snapshotOf([updateSetting('before', 1), updateSetting('again', 2)])
      snapshots.set(doc, snapshot)
      made.push(store.compact(doc, snapshot))
    }
    const later = updateSetting('later', 3)
    made.push(store.append('d1', later))
    made.push(store.append('d0', updateSetting('between', 4)))
    const second = snapshotOf([updateSetting('before', 1), updateSetting('again', 2), updateSetting('between', 4)])
    made.push(store.compact('d0', second))
    await Promise.all(made)
    const fresh = await open()
    assert.equal(listed(await fresh.load('d0')), [[...second]])
    assert.equal(listed(await fresh.load('d1')), [[...snapshots.get('d1')!], [...later]])
    for (const doc of docs.slice(2)) assert.equal(listed(await fresh.load(doc)), [[...snapshots.get(doc)!]], doc)
  })
}
