// Types of doc-batch.js (plain JavaScript, shared with the writer thread).
import type Database from 'better-sqlite3'

export declare const SNAPSHOT: 1

export interface DocBatch {
  docs: string[]
  /** 0 = append, SNAPSHOT = a compaction's snapshot. */
  kinds: Uint8Array
  /** Where each write's bytes end in `bytes`. */
  ends: Uint32Array
  bytes: Uint8Array
  /** Per write: the row ids a snapshot folds besides the batch's own ([] for an append). */
  folds: number[][]
  /** Filled in: each write's row id. On a SharedArrayBuffer when the writer thread fills it. */
  ids: Float64Array
}

export declare function batchWriter(db: Database.Database): Database.Transaction<(batch: DocBatch) => void>
