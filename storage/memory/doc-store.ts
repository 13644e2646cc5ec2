// The reference DocStore: the interface's promises kept in memory, to read beside the SQLite
// store and to prove the conformance suite. Stores made on one MemoryDocStorage share it, as two
// processes share one database file; "closing and reopening" is a new store on the same storage.
import type { DocStore } from '../doc-store.ts'
import { SeenRows } from '../seen-rows.ts'

interface Row { id: number; data: Uint8Array }

/** What several MemoryDocStores share: every document's rows, oldest first. */
export class MemoryDocStorage {
  readonly docs = new Map<string, Row[]>()
  private lastId = 0

  /** Row ids only grow, as SQLite's do while compaction inserts before it deletes: never reused. */
  insert(doc: string, data: Uint8Array): number {
    const id = ++this.lastId
    let rows = this.docs.get(doc)
    if (!rows) this.docs.set(doc, rows = [])
    rows.push({ id, data: data.slice() }) // the caller may reuse its buffer
    return id
  }

  remove(doc: string, ids: number[]): void {
    const rows = this.docs.get(doc)
    if (!rows) return
    const gone = new Set(ids)
    this.docs.set(doc, rows.filter((row) => !gone.has(row.id)))
  }
}

/** Every write happens when it is called, so writes resolve in the order they were made. */
export class MemoryDocStore implements DocStore {
  private readonly seen = new SeenRows()

  constructor(readonly storage: MemoryDocStorage = new MemoryDocStorage()) {}

  async load(doc: string): Promise<Uint8Array[]> {
    const rows = this.storage.docs.get(doc) ?? []
    this.seen.add(doc, rows.map((row) => row.id))
    return rows.map((row) => row.data.slice())
  }

  async append(doc: string, update: Uint8Array): Promise<void> {
    this.seen.add(doc, [this.storage.insert(doc, update)])
  }

  async compact(doc: string, snapshot: Uint8Array): Promise<void> {
    const folded = this.seen.of(doc)
    const id = this.storage.insert(doc, snapshot)
    this.storage.remove(doc, folded)
    this.seen.folded(doc, folded, id)
  }

  async flush(): Promise<void> {}

  release(doc: string): void {
    this.seen.forget(doc)
  }

  /** How many documents this instance remembers rows of (what release() lets go of). */
  get remembered(): number {
    return this.seen.size
  }
}
