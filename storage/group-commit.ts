// Group commit for the document stores (SQLite and PostgreSQL): everything appended while one
// commit is in flight goes into the next one, so many writers pay for one transaction and one
// fsync; each write is settled with the commit that stored it, in the order it was made [DS2].

/** One queued write, as a store's commit receives it. */
export interface QueuedWrite {
  doc: string
  data: Uint8Array
  /** A compaction's snapshot: removes the rows it folds (see DocStore.compact). */
  snapshot: boolean
}

interface Pending {
  /** null for a flush, which only waits for the writes before it. */
  write: QueuedWrite | null
  resolve: () => void
  reject: (error: Error) => void
}

export interface GroupCommitOptions {
  /** Stores one batch durably; resolves once committed, rejects (failing the whole batch) otherwise. */
  commit(writes: QueuedWrite[]): Promise<void> | void
  /**
   * Asked at every write with the number pending: true to commit as soon as the code handling the
   * current frame is done (a microtask) instead of at the end of the event-loop turn. May first
   * notice that the commit in flight finished (the SQLite writer thread's poll).
   */
  soon?(pending: number): boolean
}

export class GroupCommit {
  private pending: Pending[] = []
  private committing = false
  private turnScheduled = false
  private soonScheduled = false

  constructor(private readonly options: GroupCommitOptions) {}

  /** Settles once the commit that stores it has (resolved) or has failed (rejected). */
  add(write: QueuedWrite): Promise<void> {
    return this.enqueue(write)
  }

  /** Settles once every write made before it is settled. */
  flush(): Promise<void> {
    return this.pending.length === 0 && !this.committing ? Promise.resolve() : this.enqueue(null)
  }

  private enqueue(write: QueuedWrite | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ write, resolve, reject })
      this.schedule()
    })
  }

  /**
   * At the end of this event-loop turn, or when the commit in flight ends; sooner when the store
   * asks (soon()). Never inside add() itself: what the caller does right after it (a lab node
   * marks the document as not yet passed on) must not be overtaken by the commit.
   */
  private schedule(): void {
    const soon = this.options.soon?.(this.pending.length) ?? false
    if (this.committing) return
    if (soon && !this.soonScheduled) {
      this.soonScheduled = true
      queueMicrotask(() => {
        this.soonScheduled = false
        void this.run()
      })
      return
    }
    if (this.turnScheduled) return
    this.turnScheduled = true
    setImmediate(() => {
      this.turnScheduled = false
      void this.run()
    })
  }

  private async run(): Promise<void> {
    if (this.committing || this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    this.committing = true
    let failure: Error | null = null
    try {
      const writes = batch.flatMap((pending) => pending.write ?? [])
      if (writes.length > 0) await this.options.commit(writes)
    } catch (error) {
      failure = error as Error
    }
    this.committing = false
    for (const pending of batch) failure ? pending.reject(failure) : pending.resolve()
    if (this.pending.length > 0) this.schedule()
  }
}
