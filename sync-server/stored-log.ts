// What one room keeps in the DocStore: its log's size, when to compact it, and the re-reads
// after a gap in the fan-out, kept apart from compactions (see catchUp).
import type { DocStore } from '../storage/doc-store.ts'

/** Updates after which a document's log is folded into a snapshot, unless configured otherwise. */
export const DEFAULT_COMPACT_AFTER = 500

export interface StoredLogOptions {
  store: DocStore
  doc: string
  /** Compact after about this many updates since the last snapshot (each time ±25%, see spread). */
  compactAfterUpdates: number
  /** A number in [0, 1) (Math.random unless given): where in the ±25% each threshold falls. */
  random?: () => number
  /** All of the document as it is now (Y.encodeStateAsUpdate). */
  snapshot(): Uint8Array
  /** Applies what a re-read returned (the room knows how). */
  apply(updates: Uint8Array[]): void
  /** Storage failed: the room drops its copy. */
  fail(error: Error): void
}

export class StoredLog {
  /** Bytes the document takes in storage: its log (and snapshot), as stored. */
  bytes: number
  private updatesSinceSnapshot: number
  /** Updates since the snapshot at which this log compacts next. */
  private threshold: number
  /** The compaction in flight, and whether one was put off until the re-read in flight ends. */
  private compaction: Promise<void> = Promise.resolve()
  private compactionPutOff = false
  private reading: Promise<void> | null = null
  private readAgain = false

  constructor(private readonly options: StoredLogOptions, loaded: Uint8Array[]) {
    this.updatesSinceSnapshot = loaded.length
    this.bytes = loaded.reduce((sum, update) => sum + update.length, 0)
    this.threshold = this.spread()
  }

  /**
   * compactAfterUpdates, moved by up to a quarter either way, drawn afresh after every compaction:
   * rooms written at one pace (a load test, a store's devices all syncing at opening time) would
   * otherwise reach it in the same second and compact together, hundreds of snapshots at once.
   */
  private spread(): number {
    const n = this.options.compactAfterUpdates
    return Math.max(1, Math.round(n * (0.75 + 0.5 * (this.options.random ?? Math.random)())))
  }

  /** A re-read is in flight. */
  get busy(): boolean {
    return this.reading !== null
  }

  /** This relay appended `update`; compacts when the log has grown long. */
  appended(update: Uint8Array): void {
    this.bytes += update.length
    if (++this.updatesSinceSnapshot >= this.threshold) this.compact(this.options.snapshot())
  }

  /** Another relay stored `update` (in the log, not this relay's to fold). */
  storedElsewhere(update: Uint8Array): void {
    this.bytes += update.length
  }

  /** Replaces the rows this relay loaded and appended with `snapshot`, all of the document now. */
  compact(snapshot: Uint8Array): void {
    this.updatesSinceSnapshot = 1
    this.threshold = this.spread()
    this.bytes = snapshot.length
    this.compactionPutOff = this.reading !== null // see catchUp; done with a fresh snapshot after it
    if (this.compactionPutOff) return
    this.compaction = this.options.store.compact(this.options.doc, snapshot).catch((error: Error) => this.options.fail(error))
  }

  /**
   * Re-reads the document and applies what the copy lacks. Never beside a compaction: a load()
   * resolving after compact() was called and before its batch ran would hand the store rows the
   * snapshot lacks, rows the compaction would then delete (DocStore.compact folds what was loaded).
   * Calls made while one runs are served by one more read after it.
   */
  catchUp(): Promise<void> {
    if (this.reading !== null) {
      this.readAgain = true
      return this.reading
    }
    const read = async () => {
      do {
        this.readAgain = false
        await this.compaction
        this.options.apply(await this.options.store.load(this.options.doc))
      } while (this.readAgain)
    }
    this.reading = read().catch((error: Error) => this.options.fail(error)).finally(() => {
      this.reading = null
      if (this.compactionPutOff) this.compact(this.options.snapshot())
    })
    return this.reading
  }

  /**
   * The room is unloaded: a long log is compacted first, then the store forgets the document.
   * Resolves once it has (a new copy of the document must not fold rows before then).
   */
  unload(): Promise<void> {
    const { store, doc } = this.options
    if (this.updatesSinceSnapshot <= 1) return Promise.resolve(store.release(doc))
    // A failed compaction loses nothing: the update log it would have replaced is still there.
    // The store forgets the document's rows only once its compaction has used them.
    return store.compact(doc, this.options.snapshot()).catch(() => {}).finally(() => store.release(doc))
  }
}
