// Where Yjs documents live, as an interface with its durability promises: the memory store is
// the reference, SQLite the embedded default, PostgreSQL the cluster's.

/**
 * Durable storage of Yjs documents as update logs. Several instances may share one storage (two
 * processes on one database file); each promise below holds with others writing meanwhile. Every
 * implementation passes tests/conformance/doc-store.ts, whose rule ids are given here in [].
 */
export interface DocStore {
  /**
   * Every stored update of `doc`, whoever appended it, oldest first (a snapshot counts as one);
   * [] when never written [DS2, DS3]. What it returns, this instance's next compact() of `doc` folds.
   */
  load(doc: string): Promise<Uint8Array[]>
  /**
   * Appends one update. When the promise resolves the update is on disk and survives a crash,
   * power loss or closing and reopening; when it rejects, it was not stored [DS1]. Appends resolve
   * in the order they were made, and load() returns them in that order [DS2].
   */
  append(doc: string, update: Uint8Array): Promise<void>
  /**
   * Stores `snapshot` and removes exactly the updates it folds: those of `doc` this instance
   * returned from load() or appended (its own earlier snapshots included) before this call, even
   * appends not yet resolved [DS5, DS8, DS12]. `snapshot` must contain all of them
   * (Y.encodeStateAsUpdate of the document they were applied to). Nothing else is removed: an
   * update another instance appended meanwhile [DS4, DS9], an update appended after this call
   * [DS6] and other documents [DS11] stay. Once resolved, durable [DS7]; a crash at any point
   * leaves the folded updates or the snapshot or both, never neither (a store may commit the
   * snapshot first and remove the folded updates after, as PgDocStore does: a load() between the
   * two returns both, which applied together are the same document). A load() made after this
   * call, before it resolved, adds nothing to what it folds [DS14].
   */
  compact(doc: string, snapshot: Uint8Array): Promise<void>
  /** Resolves once every write made before the call is durable [DS10]. */
  flush(): Promise<void>
  /**
   * The caller dropped its copy of `doc` (a room unloaded, after its last compaction settled):
   * the instance forgets which rows of `doc` it saw, so a long-running server keeps nothing in
   * memory per document it no longer holds. A later compact() without a new load() then folds
   * only what this instance appended since [DS13]; nothing is lost either way.
   */
  release(doc: string): void
}
