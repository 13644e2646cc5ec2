// Which stored rows of each document one DocStore instance has seen (loaded or written): exactly
// what its next compaction of that document may remove, so an update another instance appended
// meanwhile is never lost. Shared by the memory and the SQLite store.

export class SeenRows {
  private readonly byDoc = new Map<string, Set<number>>()

  add(doc: string, ids: Iterable<number>): void {
    let seen = this.byDoc.get(doc)
    if (!seen) this.byDoc.set(doc, seen = new Set())
    for (const id of ids) seen.add(id)
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
  }

  /** Documents with rows remembered (for tests of forgetting). */
  get size(): number {
    return this.byDoc.size
  }
}
