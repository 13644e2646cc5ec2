// Where the relay keeps what it keeps: SQLite under --data (the embedded default, one machine), or
// in cluster mode PostgreSQL for every store and Redis between relays. openStores() opens them in
// order and close() shuts them in reverse; the rest of the relay sees only the stores' interfaces.
import { join } from 'node:path'
import type pg from 'pg'
import { openDatabase, type DB } from '../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from './store/migrations.ts'
import type { DocStore } from '../storage/doc-store.ts'
import { SqliteDocStore } from '../storage/sqlite/doc-store.ts'
import { PgDocStore } from '../storage/postgres/doc-store.ts'
import type { ImageStore } from '../storage/image-store.ts'
import { SqliteImageStore } from '../storage/sqlite/image-store.ts'
import { PgImageStore } from '../storage/postgres/image-store.ts'
import { openRelayPool } from '../storage/postgres/relay-schema.ts'
import type { Fanout } from '../sync-server/fanout/fanout.ts'
import { RedisFanout } from '../sync-server/fanout/redis.ts'
import { sqliteHealth, type HealthCheck } from './http/health.ts'
import type { ReceptionStore } from './store/reception-store.ts'
import { SqliteReceptionStore } from './store/receptions-sqlite.ts'
import { PgReceptionStore } from './store/receptions-postgres.ts'

/** Cluster mode: every relay of the cluster is started with the same three. */
export interface ClusterOptions {
  /** --store: a PostgreSQL connection string, shared by every relay. */
  store: string
  /** --fanout: a Redis URL, how relays hear of each other's committed updates. */
  fanout: string
  /** --images: where photos are kept; 'postgres' (the only choice so far: see deploy/README.md). */
  images: 'postgres'
}

export interface StoresOptions {
  dataDir: string
  now: () => number
  /** The largest photo stored (limits.imageBytes). */
  imageBytes: number
  cluster?: ClusterOptions | null
}

/** What openStores() opens. `db` is the SQLite database (one machine), `pool` PostgreSQL's (a cluster). */
export interface RelayStores {
  db: DB
  pool: pg.Pool | null
  docStore: DocStore & { close(): Promise<void> }
  imageStore: ImageStore
  /** How this relay hears of updates other relays stored; none on one machine. */
  fanout: Fanout | undefined
  /** Received orders: order intake's record, decided once per order (per customer at a time in a cluster). */
  receptions: ReceptionStore
  /** What /healthz checks: the store usable. */
  health: HealthCheck
  close(): Promise<void>
}

export async function openStores(options: StoresOptions): Promise<RelayStores> {
  return options.cluster ? openCluster(options, options.cluster) : openEmbedded(options)
}

/** SQLite under the data dir: documents, images and the relay's tables in one file. */
function openEmbedded({ dataDir, now }: StoresOptions): RelayStores {
  const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
  const docStore = new SqliteDocStore(db)
  return {
    db, pool: null, docStore, fanout: undefined, receptions: new SqliteReceptionStore(db, now),
    imageStore: new SqliteImageStore(db, dataDir, now),
    health: sqliteHealth(db, dataDir),
    async close() {
      await docStore.close() // the writer thread, or a relay started inside a test keeps its process alive
      db.close()
    },
  }
}

/**
 * PostgreSQL and Redis. Opened one after the other, and what was opened is closed again when a
 * later one fails, so a relay refused at start leaves no connection behind.
 * TODO(issue 18): the relay's own tables (accounts, receptions, history, lab keys, presence, audit)
 * still come from the SQLite file under the data dir here; their PostgreSQL stores replace it.
 */
async function openCluster({ dataDir, now, imageBytes }: StoresOptions, cluster: ClusterOptions): Promise<RelayStores> {
  const opened: Array<() => Promise<void>> = []
  const closeAll = async () => { for (const close of opened.reverse()) await close().catch(() => {}) }
  try {
    const pool = await openRelayPool(cluster.store)
    opened.push(() => pool.end())
    const docStore = await PgDocStore.open(cluster.store)
    opened.push(() => docStore.close())
    const imageStore = await PgImageStore.open(cluster.store, dataDir, { maxBytes: imageBytes, now })
    opened.push(() => imageStore.close())
    const fanout = await RedisFanout.open(cluster.fanout)
    opened.push(() => fanout.close())
    const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
    opened.push(async () => { db.close() })
    const receptions = await PgReceptionStore.open(pool)
    return { db, pool, docStore, imageStore, fanout, receptions, health: sqliteHealth(db, dataDir), close: closeAll }
  } catch (error) {
    await closeAll()
    throw error
  }
}
