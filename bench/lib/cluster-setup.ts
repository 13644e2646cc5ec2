// The `cluster` workload's systems, started once per run: PostgreSQL, Redis, three labsync relays
// in cluster mode and two Hocuspocus instances with extension-redis, each a process on the
// servers' CPU, and the customer accounts every relay accepts.
import { asAdmin } from '../../tests/helpers/postgres.ts'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { newKeyPair, privateKeyPem } from '../../shared/signing.ts'
import { roomName } from '../../shared/schema.ts'
import { BENCH_LIMITS, labsyncNodeFlags } from './proc.ts'
import { accounts } from './relay-api.ts'
import { openClient } from './clients.ts'
import { untilSynced, type Account } from './drive.ts'
import { startProcess, startServices, type ClusterProcess } from './cluster-procs.ts'

const SERVERS = join(import.meta.dirname, '..', 'servers')
/**
 * What Hocuspocus's documentation gives for extension-database: one row per document, its whole
 * state, replaced at every store (servers/hocuspocus-cluster.ts).
 */
const HOCUSPOCUS_TABLE = 'CREATE TABLE hocuspocus_documents (name text PRIMARY KEY, data bytea NOT NULL)'
export const RELAYS = 3
/**
 * The bench's relays unload a room this long after its last client left (the product waits 30 s):
 * a target's rooms, and their compactions on unload, are gone before the next target starts
 * (cluster-rate waits this long, then for quiet servers). Seen with 30 s: the 500 rooms of
 * labsync×1 unloading on relay1 in the middle of labsync×2's 2,000/s step, their 500 compactions
 * in one commit holding every echo of that relay for 0.6-1.3 s.
 */
export const BENCH_ROOM_IDLE_MS = 2_000
export const HOCUSPOCUS_INSTANCES = 2

export interface ClusterSystems {
  services: Awaited<ReturnType<typeof startServices>>
  relays: ClusterProcess[]
  hocuspocus: ClusterProcess[]
  /** The store floors asked for (FloorKind), by name, each its servers on a database of its own. */
  floors: Record<string, ClusterProcess[]>
  /** Customers whose tokens every relay accepted (checked on each relay directly). */
  people: Account[]
  close(): Promise<void>
}

/**
 * A kind of store floor (servers/store-floor.ts): `name` names its processes, database and Redis
 * prefix; `mode` is its argument (none: the plain floor; `yjs`; `yjs-compact`); `count` servers.
 */
export interface FloorKind { name: string; mode: string[]; count: number }

/**
 * Everything the workload measures, running; close() stops it all (what is already dead included).
 * `relays` (RELAYS unless given): a run that measures fewer does not wait for the others to start.
 */
export async function startClusterSystems(dir: string, customers: number, log: (message: string) => void, relays = RELAYS, floorKinds: FloorKind[] = []): Promise<ClusterSystems> {
  const services = await startServices()
  const running: ClusterProcess[] = []
  const close = async () => {
    await Promise.allSettled(running.map((p) => p.stop()))
    await services.stop()
  }
  try {
    const labsyncDb = await services.postgres.createDatabase('labsync')
    const hocuspocusDb = await services.postgres.createDatabase('hocuspocus')
    await asAdmin(hocuspocusDb, HOCUSPOCUS_TABLE)
    const relayDirs = Array.from({ length: relays }, (_, i) => join(dir, `relay${i + 1}`))
    const startRelay = relayStarter(dir, labsyncDb, services.redis.url)
    const people = await seedAccounts(relayDirs, startRelay, customers)
    const started = await Promise.all(relayDirs.map((d, i) => startRelay(`relay${i + 1}`, d)))
    running.push(...started)
    const hocuspocus = await Promise.all(Array.from({ length: HOCUSPOCUS_INSTANCES }, (_, i) =>
      startProcess(`hocuspocus${i + 1}`, process.execPath, ['--import', 'tsx', join(SERVERS, 'hocuspocus-cluster.ts'), '0', hocuspocusDb, services.redis.url, `hocuspocus${i + 1}`])))
    running.push(...hocuspocus)
    const floors: Record<string, ClusterProcess[]> = {}
    for (const { name, mode, count } of floorKinds) {
      const db = await services.postgres.createDatabase(name.replaceAll('-', '_'))
      floors[name] = await Promise.all(Array.from({ length: count }, (_, i) =>
        startProcess(`${name}${i + 1}`, process.execPath, [...labsyncNodeFlags(''), '--import', 'tsx', join(SERVERS, 'store-floor.ts'), '0', db, services.redis.url, ...mode])))
      running.push(...floors[name])
    }
    await checkTokensEverywhere(started, people)
    log(`cluster: PostgreSQL on ${services.postgres.port}, Redis on ${services.redis.port}, ${started.length} relays, ${hocuspocus.length} Hocuspocus instances, ${people.length} accounts`)
    return { services, relays: started, hocuspocus, floors, people, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** Starts relay NAME on DIR, all with one signing key and config, in cluster mode on the shared store. */
function relayStarter(dir: string, store: string, fanout: string) {
  const keyFile = join(dir, 'signing-key.pem')
  writeFileSync(keyFile, privateKeyPem(newKeyPair()), { mode: 0o600 })
  const configFile = join(dir, 'relay.json')
  writeFileSync(configFile, JSON.stringify({ ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...BENCH_LIMITS } }))
  return (name: string, dataDir: string) => {
    mkdirSync(dataDir, { recursive: true })
    // `--cpu-prof DIR` and LABSYNC_BENCH_NODE_FLAGS apply to each relay of a cluster too (the
    // store floors, labsync's own storage code, get LABSYNC_BENCH_NODE_FLAGS alone).
    return startProcess(name, process.execPath, [...labsyncNodeFlags(), '--import', 'tsx', join(SERVERS, 'labsync-cluster-relay.ts'), dataDir, '0', store, fanout, keyFile, configFile, String(BENCH_ROOM_IDLE_MS)])
  }
}

/**
 * The load's customers, signed up once on the first relay alone: accounts and sessions are in
 * PostgreSQL, so every relay takes their tokens (checkTokensEverywhere() proves it).
 */
async function seedAccounts(relayDirs: string[], startRelay: ReturnType<typeof relayStarter>, count: number): Promise<Account[]> {
  const seeder = await startRelay('relay1', relayDirs[0])
  try {
    return await accounts(seeder.url, count)
  } finally {
    await seeder.stop()
  }
}

/**
 * Each account's token opens its own user room on each relay, connected to directly; one at a
 * time (a stock provider adds an exit listener to this process while it lives).
 */
async function checkTokensEverywhere(relays: ClusterProcess[], people: Account[]): Promise<void> {
  for (const relay of relays) for (const person of people) {
    const client = openClient('labsync', relay.url.replace(/^http/, 'ws'), roomName.user(person.userId), person.token)
    try {
      await untilSynced(client, 10_000)
    } catch (error) {
      throw new Error(`${relay.name} refused ${person.userId}'s token: ${(error as Error).message}`)
    } finally {
      client.destroy()
    }
  }
}
