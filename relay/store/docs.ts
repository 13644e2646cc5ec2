// Where Yjs documents live: the DocStore interface (SQLite now, PostgreSQL later) and its
// SQLite implementation, an append-only update log per document with compaction into snapshots.
import type { DB } from './db.ts'

/**
 * Durable storage of Yjs documents as update logs. Every implementation passes
 * tests/helpers/docstore-suite.ts.
 */
export interface DocStore {
  /** Every stored update of `doc`, oldest first (a snapshot counts as one); [] when never written. */
  load(doc: string): Promise<Uint8Array[]>
  /**
   * Appends one update. When the promise resolves the update is on disk and survives a crash or
   * power loss; when it rejects, it was not stored. Appends resolve in the order they were made.
   */
  append(doc: string, update: Uint8Array): Promise<void>
  /**
   * Replaces everything appended to `doc` before this call with `snapshot`, which must contain
   * all of it (Y.encodeStateAsUpdate of the loaded document). Atomic: a crash leaves either the
   * old updates or the snapshot, never neither.
   */
  compact(doc: string, snapshot: Uint8Array): Promise<void>
  /** Resolves once every pending write is durable. */
  flush(): Promise<void>
}

interface PendingWrite {
  run: () => void
  resolve: () => void
  reject: (error: Error) => void
}

/**
 * SQLite implementation. Writes made in one event-loop turn share one transaction and one fsync,
 * which is what makes "durable before acknowledged" affordable.
 */
export class SqliteDocStore implements DocStore {
  private pending: PendingWrite[] = []
  private flushScheduled = false
  private readonly stmt

  constructor(private readonly db: DB) {
    this.stmt = {
      load: db.prepare<[string], { data: Buffer }>('SELECT data FROM doc_updates WHERE doc = ? ORDER BY id'),
      append: db.prepare<[string, Uint8Array]>('INSERT INTO doc_updates (doc, data) VALUES (?, ?)'),
      deleteBefore: db.prepare<[string, number | bigint]>('DELETE FROM doc_updates WHERE doc = ? AND id < ?'),
    }
  }

  async load(doc: string): Promise<Uint8Array[]> {
    return this.stmt.load.all(doc).map((row) => new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength))
  }

  append(doc: string, update: Uint8Array): Promise<void> {
    return this.enqueue(() => { this.stmt.append.run(doc, update) })
  }

  compact(doc: string, snapshot: Uint8Array): Promise<void> {
    return this.enqueue(() => {
      const { lastInsertRowid } = this.stmt.append.run(doc, snapshot) // the snapshot is one more update
      this.stmt.deleteBefore.run(doc, lastInsertRowid)
    })
  }

  flush(): Promise<void> {
    return this.pending.length === 0 ? Promise.resolve() : this.enqueue(() => {})
  }

  private enqueue(run: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ run, resolve, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.commit())
      }
    })
  }

  private commit(): void {
    const batch = this.pending
    this.pending = []
    this.flushScheduled = false
    try {
      this.db.transaction(() => { for (const write of batch) write.run() })()
    } catch (error) {
      for (const write of batch) write.reject(error as Error)
      return
    }
    for (const write of batch) write.resolve()
  }
}
