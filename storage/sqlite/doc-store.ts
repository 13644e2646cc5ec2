// The SQLite DocStore: an append-only update log per document with compaction into snapshots,
// committed by a writer thread so an fsync never stops the event loop.
import { Worker } from 'node:worker_threads'
import type { DocStore } from '../doc-store.ts'
import { QueuedDocStore } from '../queued-doc-store.ts'
import type { SeenRows } from '../seen-rows.ts'
import type { DB, Migrations } from './database.ts'
import { SNAPSHOT, batchWriter, type DocBatch } from './doc-batch.js'
import { GroupCommit, type QueuedWrite } from '../group-commit.ts'

export type { DocStore }


/**
 * The document store's table, as every database holding documents creates it in one of its
 * steps. A change to it is a new step appended to each list that holds it (the relay's, the lab
 * node's in-store one, DOC_STORE_MIGRATIONS).
 */
export const DOC_TABLES = `CREATE TABLE doc_updates (
     id     INTEGER PRIMARY KEY,
     doc    TEXT NOT NULL,
     data   BLOB NOT NULL
   );
   CREATE INDEX doc_updates_by_doc ON doc_updates (doc, id);`

/** A database of documents only: the store's own list (tests, tools). */
export const DOC_STORE_MIGRATIONS: Migrations = [DOC_TABLES]

export interface SqliteDocStoreOptions {
  /**
   * Where commits run. 'worker' (the default for a database file): a worker thread with its own
   * connection, so the fsync of a commit does not stop the event loop. 'caller': on this thread,
   * through `db` (the only choice for an in-memory database).
   */
  commitOn?: 'worker' | 'caller'
}

/**
 * SQLite implementation. Group commit: everything appended while one commit is in flight goes
 * into the next one, one transaction and one fsync (at least the writes of one event-loop turn).
 * That is what makes "durable before acknowledged" affordable.
 */
export class SqliteDocStore extends QueuedDocStore implements DocStore {
  protected readonly queue: GroupCommit
  private writer: DocWriter | null = null
  private readonly loadRows
  private readonly commitHere

  constructor(private readonly db: DB, options: SqliteDocStoreOptions = {}) {
    super()
    this.loadRows = db.prepare<[string], { id: number; data: Buffer }>('SELECT id, data FROM doc_updates WHERE doc = ? ORDER BY id')
    this.commitHere = batchWriter(db)
    this.queue = new GroupCommit({ commit: (writes) => this.commit(writes), soon: (pending) => this.commitSoon(pending) })
    if ((options.commitOn ?? (db.memory ? 'caller' : 'worker')) === 'worker') {
      if (db.memory) throw new Error('an in-memory database cannot be shared with a writer thread')
      this.writer = new DocWriter(db.name, () => { this.writer = null })
    }
  }

  /** True once commits run on the writer thread; false when this store commits on the caller's. */
  writerThread(): Promise<boolean> {
    return this.writer ? this.writer.started : Promise.resolve(false)
  }

  async load(doc: string): Promise<Uint8Array[]> {
    return this.loaded(doc, this.loadRows.all(doc))
  }

  /**
   * Stops the writer thread once every pending write is stored; later writes commit on the
   * caller's thread. Not needed before exit (the thread never keeps the process alive).
   */
  async close(): Promise<void> {
    await this.flush()
    const writer = this.writer
    this.writer = null
    await writer?.stop()
  }

  /**
   * On the writer thread, a turn that has gathered BATCH_NOW writes commits them as soon as the
   * code handling the current frame is done, and a commit the thread has finished is noticed at
   * the next write instead of at the thread's answer: when a thousand sockets have data the turn
   * is long, and both would otherwise wait for its end.
   */
  private commitSoon(pending: number): boolean {
    if (this.writer === null) return false
    this.writer.poll()
    return this.writer.ready && pending >= BATCH_NOW
  }

  /** One group commit (storage/group-commit.ts): on the writer thread when it is up, else here. */
  private async commit(writes: QueuedWrite[]): Promise<void> {
    const packed = packBatch(writes, this.seen)
    const { folds, ids } = packed // the rest is handed over to the writer thread
    if (this.writer?.ready) await this.writer.commit(packed)
    else this.commitHere(packed)
    this.remember(writes, folds, ids)
  }

  /** What a committed batch stored and removed, as doc-batch.js did it. */
  private remember(writes: QueuedWrite[], folds: number[][], ids: Float64Array): void {
    if (!writes.some((write) => write.snapshot)) {
      // The usual batch, appends only: no bookkeeping of what each document wrote in it.
      for (let i = 0; i < writes.length; i++) {
        ONE[0] = ids[i]
        this.seen.add(writes[i].doc, ONE)
      }
      return
    }
    const written = new Map<string, number[]>()
    writes.forEach(({ doc, snapshot }, i) => {
      const mine = written.get(doc) ?? []
      if (snapshot) {
        this.seen.folded(doc, [...folds[i], ...mine], ids[i])
        written.set(doc, [ids[i]])
      } else {
        this.seen.add(doc, [ids[i]])
        written.set(doc, [...mine, ids[i]])
      }
    })
  }
}

/** One row id, handed to SeenRows.add (which copies it) without an array per write. */
const ONE = [0]

/** An append's folds: none (doc-batch.js only reads them). */
const NO_FOLDS: number[] = []

/**
 * One batch as doc-batch.js takes it. A snapshot folds what this store had seen of its document
 * when the batch is made: every earlier batch is settled and remembered by then.
 */
function packBatch(writes: QueuedWrite[], seen: SeenRows): DocBatch {
  const docs: string[] = []
  const kinds = new Uint8Array(writes.length)
  const ends = new Uint32Array(writes.length)
  const folds: number[][] = []
  let size = 0
  for (const write of writes) size += write.data.byteLength
  const bytes = new Uint8Array(size)
  let at = 0
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]
    docs.push(write.doc)
    kinds[i] = write.snapshot ? SNAPSHOT : 0
    folds.push(write.snapshot ? seen.of(write.doc) : NO_FOLDS)
    bytes.set(write.data, at)
    at += write.data.byteLength
    ends[i] = at
  }
  // Shared, so the writer thread's ids are readable as soon as its commit is (DocWriter.poll).
  const ids = new Float64Array(new SharedArrayBuffer(8 * writes.length))
  return { docs, kinds, ends, bytes, folds, ids }
}

/** Writes gathered in one event-loop turn that start a commit without waiting for the turn to end. */
const BATCH_NOW = 16

/**
 * The main thread's side of storage/sqlite/doc-writer.js. Until the thread is up, and after it
 * stopped or died, the store commits on its own thread instead: nothing waits for it.
 */
class DocWriter {
  ready = false
  /** Resolves true when the thread is up, false when it failed to start. */
  readonly started: Promise<boolean>
  private onStarted: (up: boolean) => void = () => {}
  private readonly worker: Worker
  private inFlight: { id: number; resolve: () => void; reject: (error: Error) => void } | null = null
  private nextId = 1
  /**
   * The id of the last batch the thread committed without error, stored by the thread before it
   * answers (as an Int32: ids wrap there). Reading it tells a busy event loop that a commit is
   * durable before it gets round to the answer.
   */
  private readonly committed = new Int32Array(new SharedArrayBuffer(4))

  constructor(file: string, private readonly gone: () => void) {
    this.started = new Promise((resolve) => { this.onStarted = resolve })
    this.worker = new Worker(new URL('./doc-writer.js', import.meta.url), { workerData: { file, committed: this.committed } })
    this.worker.unref() // an idle writer never keeps the process alive
    this.worker.on('message', (message: { ready?: true; id?: number; error?: string | null }) => {
      if (message.ready) { this.ready = true; this.onStarted(true); return }
      if (this.inFlight?.id !== message.id) return // already settled by poll()
      this.settle(message.error ? new Error(message.error) : null)
    })
    this.worker.on('error', (error: Error) => {
      console.error(`relay: the document writer thread failed, committing on the main thread: ${error.message}`)
      this.end(error)
    })
    this.worker.on('exit', () => this.end(new Error('the document writer thread exited')))
  }

  /** One transaction for `batch`, whose bytes are handed over; resolves once it is fsynced. */
  commit(batch: DocBatch): Promise<void> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.inFlight = { id, resolve, reject }
      this.worker.ref() // a commit in flight keeps the process alive until it is answered
      this.worker.postMessage({ id, ...batch }, [batch.bytes.buffer as ArrayBuffer, batch.kinds.buffer as ArrayBuffer, batch.ends.buffer as ArrayBuffer])
    })
  }

  /** Settles the commit in flight now if the thread has already committed it. */
  poll(): void {
    if (this.inFlight !== null && Atomics.load(this.committed, 0) === (this.inFlight.id | 0)) this.settle(null)
  }

  private settle(error: Error | null): void {
    const done = this.inFlight!
    this.inFlight = null
    this.worker.unref()
    if (error) done.reject(error)
    else done.resolve()
  }

  async stop(): Promise<void> {
    this.ready = false
    await this.worker.terminate()
  }

  /** Whether the commit in flight reached the disk is unknown: it is reported as failed. */
  private end(error: Error): void {
    this.onStarted(false)
    if (!this.ready && this.inFlight === null) { this.gone(); return }
    this.ready = false
    const lost = this.inFlight
    this.inFlight = null
    lost?.reject(error)
    this.gone()
  }
}
