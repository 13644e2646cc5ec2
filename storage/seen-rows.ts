// Which stored rows of each document one DocStore instance has seen (loaded or written): exactly
// what its next compaction of that document may remove, so an update another instance appended
// meanwhile is never lost. Shared by the memory, SQLite and PostgreSQL stores.

export class SeenRows {
  private readonly byDoc = new Map<string, Set<number>>()
  /** Compactions of each document called and not yet settled. */
  private readonly pendingCompactions = new Map<string, number>()
  /** Rows load() returned while a compaction of their document was pending [DS14]. */
  private readonly loadedMeanwhile = new Map<string, number[]>()

  /**
   * Rows load() returned. While a compaction of `doc` is pending they are kept apart: its
   * snapshot was made before they were read and may lack them, so it must not fold them [DS14].
   */
  loaded(doc: string, ids: number[]): void {
    if (!this.pendingCompactions.has(doc)) return this.add(doc, ids)
    const waiting = this.loadedMeanwhile.get(doc) ?? []
    for (const id of ids) waiting.push(id)
    this.loadedMeanwhile.set(doc, waiting)
  }

  /**
   * Runs a compaction of `doc` (the store's enqueue): what it folds is fixed from this call until
   * it settles, whatever load() returns meanwhile [DS14].
   */
  compacting<T>(doc: string, compaction: () => Promise<T>): Promise<T> {
    this.pendingCompactions.set(doc, (this.pendingCompactions.get(doc) ?? 0) + 1)
    const done = compaction()
    const settled = () => this.compactionSettled(doc)
    done.then(settled, settled)
    return done
  }

  /** A compaction of `doc` resolved or failed; the last one lets rows loaded meanwhile count. */
  private compactionSettled(doc: string): void {
    const left = (this.pendingCompactions.get(doc) ?? 1) - 1
    if (left > 0) return void this.pendingCompactions.set(doc, left)
    this.pendingCompactions.delete(doc)
    const waiting = this.loadedMeanwhile.get(doc)
    this.loadedMeanwhile.delete(doc)
    // Rows a compaction deleted meanwhile may be among them: deleting them again removes nothing.
    if (waiting) this.add(doc, waiting)
  }

  add(doc: string, ids: Iterable<number>): void {
    const seen = this.rowsOf(doc)
    for (const id of ids) seen.add(id)
  }

  /** One row appended: add() without an array per write. */
  addOne(doc: string, id: number): void {
    this.rowsOf(doc).add(id)
  }

  private rowsOf(doc: string): Set<number> {
    let seen = this.byDoc.get(doc)
    if (!seen) this.byDoc.set(doc, seen = new Set())
    return seen
  }

  /** The rows a compaction of `doc` starting now folds. */
  of(doc: string): number[] {
    return [...(this.byDoc.get(doc) ?? [])]
  }

  /** A compaction removed `ids` and stored its snapshot as row `snapshot`. */
  folded(doc: string, ids: Iterable<number>, snapshot: number): void {
    const seen = this.byDoc.get(doc)
    if (seen) for (const id of ids) seen.delete(id)
    this.add(doc, [snapshot])
  }

  /** Nothing more is known of `doc`'s rows: its next compaction folds only what is seen after. */
  forget(doc: string): void {
    this.byDoc.delete(doc)
    this.loadedMeanwhile.delete(doc)
  }

  /** Documents with rows remembered (for tests of forgetting). */
  get size(): number {
    return this.byDoc.size
  }
}
