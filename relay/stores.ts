// Where the relay keeps what it keeps: SQLite under --data (the embedded default, one machine), or
// in cluster mode PostgreSQL for every store and Redis between relays (no SQLite file at all; under
// --data only photos being received and this relay's copies of photos). openStores() opens them in
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
import type { AccountStore } from '../storage/account-store.ts'
import { SqliteAccountStore, SqliteSessions } from './store/sqlite-accounts.ts'
import { PgAccountStore } from '../storage/postgres/accounts.ts'
import type { SessionCheck } from './store/session-check.ts'
import { RevokedSessions } from './store/revoked-sessions.ts'
import { publicKeyOf, type KeyPair } from '../shared/signing.ts'
import { History, type HistoryStore } from './store/history.ts'
import { PgHistory } from './store/history-postgres.ts'
import { LabKeys, SqliteLabKeyRows } from './store/lab-keys.ts'
import { PgLabKeyRows } from './store/lab-keys-postgres.ts'
import { LabPresences, SqlitePresenceRows } from './store/lab-presence.ts'
import { PgPresenceRows } from './store/lab-presence-postgres.ts'
import type { AuditStore } from '../storage/audit-store.ts'
import { SqliteAuditStore } from '../storage/sqlite/audit-store.ts'
import { PgAuditStore } from '../storage/postgres/audit-store.ts'
import { allOf, diskHealth, imagesDirHealth, pgHealth, sqliteHealth, type HealthCheck } from './http/health.ts'
import { redactSecrets } from './cluster-args.ts'
import type { ReceptionStore } from './store/reception-store.ts'
import { SqliteReceptionStore } from './store/receptions-sqlite.ts'
import { PgReceptionStore } from './store/receptions-postgres.ts'

/** Cluster mode: every relay of the cluster is started with the same three. */
export interface ClusterOptions {
  /** --store: a PostgreSQL connection string, shared by every relay. */
  store: string
  /** --fanout: a Redis URL, how relays hear of each other's committed updates. */
  fanout: string
  /**
   * --images: where photos' bytes are kept (their rows are PostgreSQL's either way): 'postgres',
   * the default, or a directory every relay mounts at the same path (see deploy/README.md).
   */
  images: 'postgres' | { dir: string }
}

export interface StoresOptions {
  dataDir: string
  now: () => number
  /** The largest photo stored (limits.imageBytes). */
  imageBytes: number
  cluster?: ClusterOptions | null
  /** --images postgres: the cap on this relay's copies of photos under dataDir (PgImageStore's cacheBytes). */
  imageCacheBytes?: number
}

/** What openStores() opens: `sqlite` the database under --data (one machine), `pool` PostgreSQL's (a cluster); never both. */
export interface RelayStores {
  sqlite: DB | null
  pool: pg.Pool | null
  docStore: DocStore & { close(): Promise<void> }
  imageStore: ImageStore
  /** How this relay hears of updates other relays stored; none on one machine. */
  fanout: Fanout | undefined
  /** Received orders: order intake's record, decided once per order (per customer at a time in a cluster). */
  receptions: ReceptionStore
  /** What /healthz checks: the store usable. */
  health: HealthCheck
  accounts: AccountStore
  /**
   * How tokens are checked: against SQLite's sessions (one machine), or by the cluster key's
   * signature and the sign-outs every relay broadcasts (a cluster). Close it before the stores.
   */
  openSessions(signingKey: KeyPair): Promise<SessionCheck>
  /** Printing history lab nodes report, once per entry id. */
  history: HistoryStore
  /** The keys lab nodes sign in-store stamps with. */
  labKeys: LabKeys
  /** When each lab node was last heard from, and its printers. */
  presence: LabPresences
  /** The admin audit's reads and its log of admin changes. */
  audit: AuditStore
  close(): Promise<void>
}

export async function openStores(options: StoresOptions): Promise<RelayStores> {
  return options.cluster ? openCluster(options, options.cluster) : openEmbedded(options)
}

/** SQLite under the data dir: documents, images and the relay's tables in one file. */
function openEmbedded({ dataDir, now }: StoresOptions): RelayStores {
  const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
  const docStore = new SqliteDocStore(db)
  const accounts = new SqliteAccountStore(db)
  return {
    sqlite: db, pool: null, docStore, fanout: undefined, accounts,
    openSessions: async () => new SqliteSessions(accounts, now),
    receptions: new SqliteReceptionStore(db, now),
    imageStore: new SqliteImageStore(db, dataDir, now),
    health: sqliteHealth(db, dataDir),
    history: new History(db), labKeys: new LabKeys(new SqliteLabKeyRows(db), now), presence: new LabPresences(new SqlitePresenceRows(db), now),
    audit: new SqliteAuditStore(db),
    async close() {
      await docStore.close() // the writer thread, or a relay started inside a test keeps its process alive
      db.close()
    },
  }
}

/**
 * PostgreSQL and Redis, every store in PostgreSQL: no SQLite file is made or opened. Opened one
 * after the other, and what was opened is closed again when a later one fails, so a relay refused
 * at start leaves no connection behind. The data dir holds photos being received and, with
 * --images postgres, this relay's copies of photos (PgImageStore): its disk is still checked.
 */
async function openCluster({ dataDir, now, imageBytes, imageCacheBytes }: StoresOptions, cluster: ClusterOptions): Promise<RelayStores> {
  const opened: Array<() => Promise<void>> = []
  const closeAll = async () => { for (const close of opened.reverse()) await close().catch(() => {}) }
  try {
    const pool = await openRelayPool(cluster.store)
    opened.push(() => pool.end())
    const docStore = await PgDocStore.open(cluster.store)
    opened.push(() => docStore.close())
    const imagesDir = cluster.images === 'postgres' ? undefined : cluster.images.dir
    const imageStore = await PgImageStore.open(cluster.store, dataDir, { maxBytes: imageBytes, now, imagesDir, cacheBytes: imageCacheBytes })
    opened.push(() => imageStore.close())
    const fanout = await RedisFanout.open(cluster.fanout)
    opened.push(() => fanout.close())
    const accounts = new PgAccountStore(pool)
    const openSessions = (signingKey: KeyPair) => RevokedSessions.start({ store: accounts, fanout, publicKey: publicKeyOf(signingKey.publicJwk)!, now })
    const probe = await pgHealth(cluster.store, { now, redact: (text) => redactSecrets(text, [cluster.store]) })
    opened.push(() => probe.close())
    const dirProbe = imagesDir === undefined ? null : await imagesDirHealth(imagesDir, { now })
    if (dirProbe) opened.push(() => dirProbe.close())
    // A full disk under the data dir fails every photo received: unhealthy, as on one machine.
    const health = allOf(probe.check, ...(dirProbe ? [dirProbe.check] : []), diskHealth(dataDir))
    // The audit's step adds the discount columns the reception store looks for when it opens.
    const audit = await PgAuditStore.open(pool)
    const receptions = await PgReceptionStore.open(pool)
    return {
      sqlite: null, pool, docStore, imageStore, fanout, accounts, openSessions, health, close: closeAll, audit, receptions,
      history: new PgHistory(pool), labKeys: new LabKeys(new PgLabKeyRows(pool), now), presence: new LabPresences(new PgPresenceRows(pool), now),
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}
