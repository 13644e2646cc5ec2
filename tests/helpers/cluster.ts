// A labsync cluster on loopback for one test file: a real PostgreSQL and Redis, N relay processes
// (`bin/labsync relay` in cluster mode, one shared signing key, each its own --data) and the shipped
// deploy/haproxy.cfg in front of them; one relay can be SIGKILLed and started again.
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import * as Y from 'yjs'
import { PostgresUnavailable, startPostgres, type PostgresServer } from './postgres.ts'
import { startRedis, type RedisServer } from './redis.ts'
import { startHaproxy, type Haproxy } from './haproxy.ts'
import { removeDir, startRelay, tempDir, type RelayProcess } from './relay.ts'

export interface ClusterOptions {
  /** How many relays (default 3). */
  relays?: number
  /** The relays' configuration (the demo catalog when not given). */
  config?: object
  /** More environment for every relay (e.g. LABSYNC_TEST_ECHO_BEFORE_COMMIT). */
  env?: Record<string, string>
  /** More environment for relays[i]'s first start only (e.g. LABSYNC_TEST_DIE_AFTER_STORING); a restart has `env` alone. */
  relayEnv?: Array<Record<string, string> | undefined>
}

export interface Cluster {
  postgres: PostgresServer
  redis: RedisServer
  proxy: Haproxy
  /** The PostgreSQL URL every relay stores in. */
  store: string
  /** relays[i] is haproxy's `relay${i + 1}`; null while killed. */
  relays: Array<RelayProcess | null>
  /** haproxy's server name of relays[i]. */
  nameOf(i: number): string
  /** SIGKILL relays[i]: nothing flushed that was not already committed. */
  kill(i: number): Promise<void>
  /** Starts relays[i] again on its port and data dir. */
  restart(i: number): Promise<void>
  /** Every relay's output (its last `chars`, 3,000 by default; a restarted relay's includes its first life's), for a failing test's message. */
  output(chars?: number): string
  stop(): Promise<void>
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = tempDir('labsync-cluster-')
  const keyFile = join(dir, 'signing-key.pem')
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 })
  // fsync stays on: the tests check what a commit promises.
  const postgres = await startPostgresRetrying()
  const started: { redis?: RedisServer; proxy?: Haproxy; relays: Array<RelayProcess | null>; dataDirs: string[] } = { relays: [], dataDirs: [] }
  const stop = async () => {
    await started.proxy?.stop()
    await Promise.all(started.relays.map((relay) => relay?.stop()))
    started.dataDirs.forEach(removeDir)
    await started.redis?.stop()
    await postgres.stop()
    removeDir(dir)
  }
  try {
    const store = await postgres.createDatabase('labsync')
    const redis = started.redis = await startRedis()
    const env = {
      LABSYNC_STORE: store, LABSYNC_FANOUT: redis.url, LABSYNC_SIGNING_KEY: keyFile, LABSYNC_TRUST_PROXY: '127.0.0.1/32',
      NODE_ENV: 'test', ...options.env,
    }
    const count = options.relays ?? 3
    // One after the other: each migrates the schema (under a lock) and a 2-core machine starts them no faster at once.
    for (let i = 0; i < count; i++) {
      const dataDir = tempDir('labsync-cluster-relay-')
      started.dataDirs.push(dataDir)
      started.relays.push(await startRelay({ config: options.config, dataDir, env: { ...env, ...options.relayEnv?.[i] } }))
    }
    const { relays, dataDirs } = started
    const ports = relays.map((relay) => new URL(relay!.url).port)
    // What each relay printed before it was killed (a killed relay's output is gone with it otherwise).
    const earlier = relays.map(() => '')
    const proxy = started.proxy = await startHaproxy(dir, relays.map((relay, i) => ({ name: `relay${i + 1}`, address: `127.0.0.1:${ports[i]}` })))
    return {
      postgres, redis, proxy, store, relays,
      nameOf: (i) => `relay${i + 1}`,
      async kill(i) {
        const relay = relays[i]
        await relay?.kill()
        if (relay) earlier[i] += `${relay.output()}--- (SIGKILLed)\n`
        relays[i] = null
      },
      async restart(i) {
        if (relays[i]) throw new Error(`relay${i + 1} is running`)
        relays[i] = await startRelay({ config: options.config, dataDir: dataDirs[i], port: Number(ports[i]), env })
      },
      output: (chars = 3000) => relays.map((relay, i) => `--- relay${i + 1}\n${(earlier[i] + (relay?.output() ?? '(killed)')).slice(-chars)}`).join('\n'),
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * startPostgres, tried up to three times. Another test process's removeAbandoned() (postgres.ts)
 * may read the postmaster.pid of one of initdb's short-lived backends just as it exits, take the
 * directory for abandoned and remove it under our initdb; only parallel test runs see it.
 */
export async function startPostgresRetrying(settings: Record<string, string> = {}): Promise<PostgresServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPostgres(settings)
    } catch (error) {
      if (!(error instanceof PostgresUnavailable) || attempt === 3) throw error
      console.error(`startPostgres failed (attempt ${attempt}), trying again: ${error.message.split('\n')[0]}`)
    }
  }
}

/** Every stored update of `doc` in PostgreSQL (doc_updates), merged into one Y.Doc. */
export async function storedDoc(store: string, doc: string): Promise<Y.Doc> {
  const client = new pg.Client({ connectionString: store })
  await client.connect()
  try {
    const { rows } = await client.query<{ data: Buffer }>('SELECT data FROM doc_updates WHERE doc = $1 ORDER BY id', [doc])
    const merged = new Y.Doc()
    Y.transact(merged, () => { for (const row of rows) Y.applyUpdate(merged, new Uint8Array(row.data)) })
    return merged
  } finally {
    await client.end()
  }
}
