// The PostgreSQL DocStore: one update log table shared by every relay, written by group commit
// (one INSERT for whatever this relay appended meanwhile); a compaction's snapshot is one of those
// rows, and the rows it folds are deleted after the commit, under the document's advisory lock.
import pg from 'pg'
import { openPool } from './pool.ts'
import type { DocStore } from '../doc-store.ts'
import { QueuedDocStore } from '../queued-doc-store.ts'
import { LOCK_CLASS, migrate, type PgMigrations } from './migrate.ts'
import { deleteFolded, planBatch } from './doc-batch.ts'
import { GroupCommit, type QueuedWrite } from '../group-commit.ts'

/** The documents' schema steps (see PgMigrations: append, never edit). */
export const DOC_MIGRATIONS: PgMigrations = {
  component: 'docs',
  steps: [
    `CREATE TABLE doc_updates (
       id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       doc  text NOT NULL,
       data bytea NOT NULL
     );
     CREATE INDEX doc_updates_by_doc ON doc_updates (doc, id);`,
  ],
}

export interface PgDocStoreOptions {
  /** Connections for load(). */
  readers?: number
  /**
   * Commits in flight at once, each on its own connection (2 unless given): what arrives while
   * one commit waits for PostgreSQL's fsync goes into the next at once instead of waiting for it.
   */
  writers?: number
}

/**
 * Every append is acknowledged only after the COMMIT that stored it: appends made while a
 * transaction is in flight go into the next, so one relay pays one round of commits for many
 * writers (group commit). Up to `writers` commits run at once, a document in one of them at a
 * time; writes resolve in the order they were made [DS2].
 */
export class PgDocStore extends QueuedDocStore implements DocStore {
  protected readonly queue: GroupCommit
  /** The last delete of folded rows started (see store(); each waits for the one before), and the one each compaction waits for. */
  private lastDelete: Promise<void> = Promise.resolve()
  private readonly folding = new Map<QueuedWrite, Promise<void>>()

  private constructor(private readonly pool: pg.Pool, writers: number) {
    super()
    this.queue = new GroupCommit({ commit: (writes) => this.store(writes), maxInFlight: writers })
  }

  /** Connects and brings the schema up to date (several relays may open at once). */
  static async open(connectionString: string, options: PgDocStoreOptions = {}): Promise<PgDocStore> {
    // A database cut off (not refusing, just silent) fails a connect within 10 s and a statement
    // within 30 s, rather than holding writes for ever: the room then closes its sockets with
    // "retry later" and acknowledges nothing it could not store.
    const writers = options.writers ?? 2
    const pool = openPool({ connectionString, max: (options.readers ?? 4) + writers, connectionTimeoutMillis: 10_000, query_timeout: 30_000 })
    try {
      await migrate(pool, DOC_MIGRATIONS)
    } catch (error) {
      await pool.end()
      throw error
    }
    return new PgDocStore(pool, writers)
  }

  async load(doc: string): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ id: string; data: Buffer }>('SELECT id, data FROM doc_updates WHERE doc = $1 ORDER BY id', [doc])
    return this.loaded(doc, rows)
  }

  /** Stores what is pending, then closes every connection. */
  async close(): Promise<void> {
    await this.flush()
    await this.pool.end()
  }

  /**
   * One INSERT, so one transaction and one round trip (see planBatch); rows this store learns of
   * are remembered only once it committed. The rows the batch's compactions fold are deleted
   * after it, off the way of its appends: a compaction (its locks, ~500 rows deleted) in the commit
   * held every echo of its relay behind it (bench/README.md, the fourth session's findings), and a
   * lock another relay held held them all. A compaction resolves once its folded rows are gone
   * (folded()). A delete that fails rejects its compactions (the room drops its copy, as for any
   * storage failure); the folded rows then stay beside the snapshot, which holds them, until the
   * document is next loaded and compacted.
   */
  private async store(writes: QueuedWrite[]): Promise<void> {
    const { remember, folds } = await planBatch(writes, this.seen, this.query)
    remember()
    if (folds.size === 0) return
    // One delete at a time: one waiting for a lock another relay holds keeps one connection, not
    // the pool's, so commits and loads are not queued behind it.
    const deleted = this.lastDelete.catch(() => {}).then(() => deleteFolded(this.query, LOCK_CLASS.doc, folds))
    this.lastDelete = deleted
    for (const write of writes) if (write.snapshot) this.folding.set(write, deleted)
  }

  protected override folded(write: QueuedWrite): Promise<void> | void {
    const deleted = this.folding.get(write)
    this.folding.delete(write)
    return deleted
  }

  /** Resolves once every write made before is durable and every delete of folded rows started before has ended (done or failed). */
  override async flush(): Promise<void> {
    await super.flush()
    await this.lastDelete.catch(() => {})
  }

  private readonly query = (sql: string, params: unknown[], name?: string) => this.pool.query({ text: sql, values: params, name })
}
