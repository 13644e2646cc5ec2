// Group commit for the document stores (SQLite and PostgreSQL): everything appended while one
// commit is in flight goes into the next one, so many writers pay for one transaction and one
// fsync; each write is settled with the commit that stored it, in the order it was made [DS2].

/** One queued write, as a store's commit receives it. */
export interface QueuedWrite {
  doc: string
  data: Uint8Array
  /** A compaction's snapshot, which replaces the rows it folds (see DocStore.compact; PgDocStore deletes them after the commit). */
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
  /**
   * Commits that may be in flight at once (1 unless given). A store whose commit is a round trip
   * to a server (PostgreSQL) starts the next batch while one is in flight, on another connection,
   * instead of leaving what arrived meanwhile to wait for it; batches still settle in order, and
   * a document's writes are never in two commits at once (see takeBatch).
   */
  maxInFlight?: number
}

export class GroupCommit {
  private pending: Pending[] = []
  private inFlight = 0
  /** Batches taken and not yet settled (committed ones may wait for those before them). */
  private unsettled = 0
  /** Settles once the last batch started has been settled: the next one settles after it. */
  private settledInOrder: Promise<void> = Promise.resolve()
  private turnScheduled = false
  private soonScheduled = false
  private readonly maxInFlight: number
  /** Documents with a write in a commit in flight. */
  private readonly busyDocs = new Set<string>()

  constructor(private readonly options: GroupCommitOptions) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1)
  }

  /** Settles once the commit that stores it has (resolved) or has failed (rejected). */
  add(write: QueuedWrite): Promise<void> {
    return this.enqueue(write)
  }

  /** Settles once every write made before it is settled. */
  flush(): Promise<void> {
    return this.pending.length === 0 && this.unsettled === 0 ? Promise.resolve() : this.enqueue(null)
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
    if (this.inFlight >= this.maxInFlight) return
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

  /**
   * Commits what is pending as one batch. The batch settles (each write resolved, or all rejected
   * with the commit's error) only after every batch started before it has settled, so writes
   * settle in the order they were made even when several commits are in flight.
   */
  private async run(): Promise<void> {
    if (this.inFlight >= this.maxInFlight) return
    const batch = this.takeBatch()
    if (batch.length === 0) return
    const writes = batch.flatMap((pending) => pending.write ?? [])
    this.inFlight++
    this.unsettled++
    for (const write of writes) this.busyDocs.add(write.doc)
    const previous = this.settledInOrder
    let settled!: () => void
    this.settledInOrder = new Promise((resolve) => { settled = resolve })
    let failure: Error | null = null
    try {
      if (writes.length > 0) await this.options.commit(writes)
    } catch (error) {
      failure = error as Error
    }
    this.inFlight--
    for (const write of writes) this.busyDocs.delete(write.doc)
    if (this.maxInFlight > 1) {
      // The next batch may start while this one waits for those before it to settle.
      if (this.pending.length > 0) this.schedule()
      await previous
    }
    this.unsettled--
    for (const pending of batch) failure ? pending.reject(failure) : pending.resolve()
    settled()
    if (this.pending.length > 0) this.schedule()
  }

  /**
   * What the next commit takes: everything pending, or, beside commits in flight, everything up
   * to the first write of a document one of them holds. So a document's writes are never in two
   * commits at once: they are stored in the order they were made (ids grow with it [DS2]), and a
   * compaction's snapshot is never committed beside an append of its own document (PgDocStore's
   * delete of the rows it folds may be: it lists them by id, and later appends are not among them).
   */
  private takeBatch(): Pending[] {
    let end = 0
    if (this.busyDocs.size === 0) end = this.pending.length
    else while (end < this.pending.length && !this.busyDocs.has(this.pending[end].write?.doc as string)) end++
    return this.pending.splice(0, end)
  }
}
