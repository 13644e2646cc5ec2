// What the SQLite and PostgreSQL DocStores share: appends and snapshots queued for group commit
// (GroupCommit), and the rows of each document this instance has seen (SeenRows), which bound
// what its compaction folds. Each store says how a batch commits and how a document's rows load.
import type { DocStore } from './doc-store.ts'
import type { GroupCommit, QueuedWrite } from './group-commit.ts'
import { SeenRows } from './seen-rows.ts'

export abstract class QueuedDocStore implements DocStore {
  /** Another instance (another process, another relay) may write the same documents. */
  protected readonly seen = new SeenRows()
  protected abstract readonly queue: GroupCommit

  abstract load(doc: string): Promise<Uint8Array[]>

  append(doc: string, update: Uint8Array): Promise<void> {
    return this.queue.add({ doc, data: update, snapshot: false })
  }

  compact(doc: string, snapshot: Uint8Array): Promise<void> {
    const write = { doc, data: snapshot, snapshot: true }
    return this.seen.compacting(doc, () => this.queue.add(write).then(() => this.folded(write)))
  }

  /**
   * Resolves once the rows compaction `write` folds are gone, after its commit stored the
   * snapshot: at once unless the store removes them later, off the commit (PgDocStore).
   */
  protected folded(_write: QueuedWrite): Promise<void> | void {}

  release(doc: string): void {
    this.seen.forget(doc)
  }

  flush(): Promise<void> {
    return this.queue.flush()
  }

  /** load()'s answer from the rows it read (oldest first), which this instance has now seen. */
  protected loaded(doc: string, rows: Array<{ id: number | string; data: Buffer }>): Uint8Array[] {
    this.seen.loaded(doc, rows.map((row) => Number(row.id)))
    return rows.map((row) => new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength))
  }
}
