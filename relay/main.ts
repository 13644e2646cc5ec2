// `labsync relay`: reads the configuration, starts the relay, prints `relay listening on URL`,
// and shuts down cleanly (pending writes stored) on SIGINT/SIGTERM.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ConfigError } from '../shared/errors.ts'
import { envWholeNumber } from '../bin/env.ts'
import { DEMO_CONFIG, loadConfigFile, parseConfig } from './config.ts'
import { createRelay } from './server.ts'
import { DB_FILE, clearCleanMarker, preflight, writeCleanMarker } from './store/preflight.ts'
import { loadSigningKeyFile } from '../storage/key-file.ts'
import { parseTrustedProxies } from './http/client-address.ts'
import { clusterOptions, redact, redactSecrets, type Given } from './cluster-args.ts'
import type { ClusterOptions } from './stores.ts'

export interface RelayArgs {
  host: string; port: number; data: string; config: string | null
  /** Start on a missing or empty database although the data dir shows a relay ran there. */
  fresh: boolean
  /** --signing-key FILE (or LABSYNC_SIGNING_KEY), and which of the two named it, for errors. */
  signingKey?: { file: string; from: string } | null
  /** --trust-proxy CIDR[,CIDR] (or LABSYNC_TRUST_PROXY), and which of the two named it. */
  trustProxy?: { value: string; from: string } | null
  /** Cluster mode: --store, --fanout, --images (or LABSYNC_STORE, LABSYNC_FANOUT, LABSYNC_IMAGES). */
  store?: Given | null
  fanout?: Given | null
  images?: Given | null
}

export async function runRelay(args: RelayArgs): Promise<void> {
  const config = args.config ? loadConfigFile(args.config) : parseConfig(DEMO_CONFIG)
  const cluster = clusterOptions({ store: args.store, fanout: args.fanout, images: args.images, signingKey: Boolean(args.signingKey) })
  const echoBeforeCommit = testEchoBeforeCommit()
  const dieAfterStoring = testDieAfterStoring()
  const webDir = webDirFromEnv()
  // Refused (exit 2) before the data dir is touched: a relay of a cluster must not start on a key of its own.
  const signingKey = args.signingKey ? loadSigningKeyFile(args.signingKey.file, args.signingKey.from) : undefined
  const trustProxy = args.trustProxy ? parseTrustedProxies(args.trustProxy.value, args.trustProxy.from) : null
  if (cluster) console.log(`relay: cluster mode: documents and photos in PostgreSQL ${redact(cluster.store)}, ${cluster.images === 'postgres' ? '' : `photos' files in ${cluster.images.dir}, `}fan-out through Redis ${redact(cluster.fanout)}`)
  if (!args.config) console.log('relay: no --config given, serving the demo catalog (admin token "demo-admin-token", lab key "demo-lab-key")')
  const dataDir = resolve(args.data)
  if (cluster) noteClusterDataDir(dataDir, args.fresh)
  else checkDatabase(dataDir, args.fresh)
  let relay
  try {
    relay = await createRelay({
      config, dataDir, host: args.host, port: args.port,
      idleUnloadMs: envWholeNumber('LABSYNC_ROOM_IDLE_MS'),
      compactAfterUpdates: envWholeNumber('LABSYNC_COMPACT_AFTER'),
      now: testClock(),
      intakeDelayMs: envWholeNumber('LABSYNC_TEST_INTAKE_DELAY_MS'),
      heartbeatMs: envWholeNumber('LABSYNC_HEARTBEAT_MS'),
      imageCacheBytes: envWholeNumber('LABSYNC_IMAGE_CACHE_BYTES'),
      signingKey, trustProxy, cluster, echoBeforeCommit, dieAfterStoring,
      webDir,
    })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new ConfigError(`port ${args.port} on ${args.host} is in use`)
    if (code === 'EADDRNOTAVAIL') throw new ConfigError(`cannot listen on ${args.host}: no such local address`)
    if (cluster) refuseClusterStart(error as Error, cluster)
    throw error
  }
  const started = relay
  const stop = async () => {
    await started.close()
    if (!cluster) writeCleanMarker(dataDir) // the next start may skip the integrity check
    process.exit(0)
  }
  // Before the line that says the relay is ready: whoever starts it may stop it the moment it
  // reads that line, and a signal with no handler yet would kill it without a clean shutdown.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  console.log(`relay listening on ${relay.url}`)
}

/**
 * One machine: before anything opens relay.sqlite for writing, a lost or damaged one is refused
 * (exit 2); then the clean-shutdown marker is removed, so a crash from now on is noticed.
 */
function checkDatabase(dataDir: string, fresh: boolean): void {
  const checked = preflight(dataDir, { fresh })
  if (checked.note) console.log(checked.note)
  if (fresh && checked.state === 'existing') console.log('relay: --fresh has no effect: the database holds data, and the relay starts on it')
  clearCleanMarker(dataDir)
}

/**
 * Cluster mode keeps nothing in SQLite: no preflight, no clean-shutdown marker (both are about
 * relay.sqlite). A relay.sqlite left in the data dir (one machine's, or an older cluster relay's)
 * is neither read nor changed; said once, since its orders are not the cluster's.
 */
function noteClusterDataDir(dataDir: string, fresh: boolean): void {
  const file = join(dataDir, DB_FILE)
  if (existsSync(file)) console.log(`relay: cluster mode: ${file} is not used (everything is in PostgreSQL): it is neither read nor changed`)
  if (fresh) console.log('relay: --fresh has no effect in cluster mode: there is no database under the data dir')
}

/**
 * A cluster relay that cannot start, mostly PostgreSQL or Redis not reachable: one line, exit 1
 * (not 2: the command line is right, the service is not there yet; a supervisor may retry). A
 * driver's message may quote its URL, so the passwords are taken out; the stack, which repeats
 * the message, is not printed.
 */
function refuseClusterStart(error: Error, cluster: ClusterOptions): never {
  console.error(`labsync: relay: could not start in cluster mode: ${redactSecrets(error.message, [cluster.store, cluster.fanout])}`)
  process.exit(1)
}

/**
 * LABSYNC_TEST_ECHO_BEFORE_COMMIT=1 echoes every write before it is stored: it breaks "an echo
 * means durable" on purpose, for the negative control of the cluster fault tests, and is refused
 * unless NODE_ENV=test.
 */
function testEchoBeforeCommit(): boolean {
  const value = process.env.LABSYNC_TEST_ECHO_BEFORE_COMMIT
  if (!value) return false
  if (value !== '1') throw new ConfigError(`LABSYNC_TEST_ECHO_BEFORE_COMMIT: "${value}" is not 1`)
  if (process.env.NODE_ENV !== 'test') throw new ConfigError('LABSYNC_TEST_ECHO_BEFORE_COMMIT acknowledges writes before they are stored: a test-only switch, refused unless NODE_ENV=test')
  console.log('relay: LABSYNC_TEST_ECHO_BEFORE_COMMIT: writes are echoed BEFORE they are stored (test only; an echo no longer means durable)')
  return true
}

/**
 * LABSYNC_TEST_DIE_AFTER_STORING=<room> (e.g. order/o123): the relay SIGKILLs itself as soon as
 * a write to that room is committed, before it publishes it, echoes it or runs its hooks: the
 * fault tests' relay death in that window, on cue. Refused unless NODE_ENV=test.
 */
function testDieAfterStoring(): string | undefined {
  const value = process.env.LABSYNC_TEST_DIE_AFTER_STORING
  if (!value) return undefined
  if (process.env.NODE_ENV !== 'test') throw new ConfigError('LABSYNC_TEST_DIE_AFTER_STORING kills the relay on purpose: a test-only switch, refused unless NODE_ENV=test')
  console.log(`relay: LABSYNC_TEST_DIE_AFTER_STORING: this relay SIGKILLs itself once a write to ${value} is stored (test only)`)
  return value
}

/**
 * LABSYNC_WEB_DIR: the built web app the relay serves, instead of ./dist beside the program (a
 * relay installed apart from its build, or tests serving one shared build). Refused (exit 2) when
 * it holds no index.html: a relay that answers every page 404 looks healthy to a balancer.
 */
function webDirFromEnv(): string | undefined {
  const value = process.env.LABSYNC_WEB_DIR
  if (!value) return undefined
  const dir = resolve(value)
  if (!existsSync(join(dir, 'index.html'))) throw new ConfigError(`LABSYNC_WEB_DIR: ${dir} holds no index.html (build the web app with npm run build)`)
  return dir
}

/**
 * LABSYNC_TEST_CLOCK=<ISO instant> starts the relay's clock there (it then runs in real time), so
 * tests and demos can show discounts across weeks without waiting weeks. Never set in production.
 */
function testClock(): (() => number) | undefined {
  const start = process.env.LABSYNC_TEST_CLOCK
  if (!start) return undefined
  const startMs = Date.parse(start)
  if (Number.isNaN(startMs)) throw new ConfigError(`LABSYNC_TEST_CLOCK: "${start}" is not an ISO 8601 instant`)
  const offset = startMs - Date.now()
  console.log(`relay: clock set to ${new Date(startMs).toISOString()} by LABSYNC_TEST_CLOCK`)
  return () => Date.now() + offset
}
