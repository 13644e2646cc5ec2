// Where Yjs documents live, as an interface with its durability promises: the memory store is
// the reference, SQLite the embedded default, PostgreSQL the cluster's.

/**
 * Durable storage of Yjs documents as update logs. Every implementation passes
 * tests/conformance/doc-store.ts.
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
