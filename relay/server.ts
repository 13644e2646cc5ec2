// The relay: one HTTP server for the API, the built web app and the y-websocket endpoint, wired
// to its stores (one SQLite database, or PostgreSQL and Redis in cluster mode; see stores.ts).
// createRelay() is what `bin/labsync relay` and the tests start.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Close, HttpError } from '../shared/errors.ts'
import { publicCatalog, type Limits, type RelayConfig } from './config.ts'
import type { DB } from '../storage/sqlite/database.ts'
import { openStores, type ClusterOptions, type RelayStores } from './stores.ts'
import { Accounts } from './store/accounts.ts'
import { Authenticator, bearerToken } from './auth.ts'
import { Rooms } from '../sync-server/rooms.ts'
import { Connection, type Session } from '../sync-server/connection.ts'
import { serveSync } from '../sync-server/endpoint.ts'
import type { RoomHooks } from '../sync-server/room.ts'
import { DEFAULT_COMPACT_AFTER } from '../sync-server/stored-log.ts'
import { publishCatalog } from './catalog.ts'
import { Intake } from './orders/intake.ts'
import { LabReports } from './orders/lab-reports.ts'
import { listen, sendError } from '../sync-server/respond.ts'
import { signIn, signOut, signUp } from './http/accounts.ts'
import type { Images, ImagesDeps } from '../photos/intake.ts'
import { serveStatic } from './http/static.ts'
import { httpTimeouts, limitConnections } from '../sync-server/http-limits.ts'
import { AddressWindow, HashGate, signInGuard, type SignInGuard } from './http/sign-in-guard.ts'
import { priceList, servePrices, type PriceList } from './http/prices.ts'
import { handleLabApi } from './http/labs.ts'
import type { LabPresences } from './store/lab-presence.ts'
import type { LabKeys } from './store/lab-keys.ts'
import { loadOrCreateSigningKey } from '../storage/key-file.ts'
import { createAdmin, queueLengthFromRooms, type Admin } from './http/admin.ts'
import type { KeyPair } from '../shared/signing.ts'
import { clientAddressOf, type ClientAddress, type TrustedProxies } from './http/client-address.ts'
import { serveHealth, type HealthCheck } from './http/health.ts'

export interface RelayOptions {
  config: RelayConfig
  dataDir: string
  host?: string
  port?: number
  /** Where the built web app is; defaults to ./dist beside the repository root. */
  webDir?: string
  idleUnloadMs?: number
  compactAfterUpdates?: number
  maxMessageBytes?: number
  now?: () => number
  /** Fault injection for tests: intake waits this long after recording a submission. */
  intakeDelayMs?: number
  /** Cluster mode: how often intake sweeps for work a relay that died left (default 30 s). */
  intakeSweepMs?: number
  /** Sync sockets that do not answer a ping within this long are cut (default 30 s). */
  heartbeatMs?: number
  /** One key for every relay of a cluster (--signing-key); without it, one made under dataDir. */
  signingKey?: KeyPair
  /** Peers whose X-Forwarded-For gives the client's address (--trust-proxy); without them, the TCP peer. */
  trustProxy?: TrustedProxies | null
  /** Cluster mode (--store, --fanout, --images): PostgreSQL and Redis shared with other relays. */
  cluster?: ClusterOptions | null
  /** --images postgres: the cap in bytes on this relay's copies of photos (LABSYNC_IMAGE_CACHE_BYTES; 2 GiB unless given). */
  imageCacheBytes?: number
  /** Test only (LABSYNC_TEST_ECHO_BEFORE_COMMIT): echo writes before they are stored. */
  echoBeforeCommit?: boolean
  /** Test only (LABSYNC_TEST_DIE_AFTER_STORING): the room whose first stored write SIGKILLs this relay. */
  dieAfterStoring?: string
}

export interface Relay {
  url: string
  /** The SQLite database under dataDir on one machine (tests read it); null in cluster mode, which has none. */
  sqlite: DB | null
  rooms: Rooms
  close(): Promise<void>
}

const REPO_ROOT = join(import.meta.dirname, '..')

/** Everything the relay holds open, built in order by openParts(). */
interface RelayParts {
  options: RelayOptions
  now: () => number
  stores: RelayStores
  accounts: Accounts
  signIns: SignInGuard
  labKeys: LabKeys
  auth: Authenticator
  rooms: Rooms
  intake: Intake
  labReports: LabReports
  images: Images
  admin: Admin
  /** When each lab node was last heard from and its printers' states, for the admin's lab status. */
  presence: LabPresences
  /** GET /api/prices: the public price list, and its own per-address count (limits.signInsPerAddress a minute). */
  prices: { list: PriceList; window: AddressWindow }
  /** The client's address for limits and logs: the TCP peer, or what a trusted proxy says. */
  clientAddress: ClientAddress
  /** What /healthz checks: the store usable. */
  health: HealthCheck
}

export async function createRelay(options: RelayOptions): Promise<Relay> {
  const parts = await openParts(options)
  const server = httpServer(options.config.limits, parts.clientAddress, options.trustProxy ?? null, (req, res) => route(parts, req, res))
  const sync = serveSync(server, syncOptions(parts))
  const authority = await listen(server, options.port ?? 8080, options.host ?? '127.0.0.1')
  parts.intake.resume().catch((error: Error) => console.error(`relay: resuming order intake failed: ${error.message}`))
  const { rooms } = parts
  return {
    url: `http://${authority}`,
    sqlite: parts.stores.sqlite,
    rooms,
    async close() {
      parts.intake.close()
      server.close()
      // Before the rooms and stores they write to close, and before the fan-out says this relay is leaving.
      await Promise.all([parts.intake.settled(), parts.labReports.settled()])
      await parts.images.close()
      await rooms.close()
      sync.close()
      server.closeAllConnections()
      // last_seen the write throttle held back; nothing heard after. A store gone by now costs that, not the shutdown.
      await parts.presence.close().catch((error: Error) => console.error(`relay: writing lab presence at shutdown failed: ${error.message}`))
      await parts.accounts.sessions.close()
      await parts.stores.close()
    },
  }
}

/** The database, accounts, rooms (with the catalog published), order intake, photos and admin API. */
async function openParts(options: RelayOptions): Promise<RelayParts> {
  const now = options.now ?? Date.now
  const limits = options.config.limits
  const stores = await openStores({ dataDir: options.dataDir, now, imageBytes: limits.imageBytes, cluster: options.cluster, imageCacheBytes: options.imageCacheBytes })
  const { docStore, imageStore } = stores
  const signingKey = options.signingKey ?? loadOrCreateSigningKey(options.dataDir)
  const hashGate = new HashGate(limits.passwordHashConcurrency)
  const accounts = new Accounts(stores.accounts, await stores.openSessions(signingKey), now, signingKey, { hashing: (work) => hashGate.run(work) })
  const signIns = signInGuard(limits, now)
  const { labKeys, presence } = stores
  const auth = new Authenticator(options.config, accounts, now)
  const hooks: RoomHooks = {}
  const rooms = new Rooms({
    store: docStore,
    fanout: stores.fanout,
    hooks,
    idleUnloadMs: options.idleUnloadMs ?? 30_000,
    compactAfterUpdates: options.compactAfterUpdates ?? DEFAULT_COMPACT_AFTER,
    maxRefusals: 20,
    limits,
    echoBeforeCommit: options.echoBeforeCommit,
    dieAfterStoring: options.dieAfterStoring,
  })
  await publishCatalog(rooms, options.config, signingKey.publicJwk)
  const { receptions } = stores
  const intake = new Intake({
    rooms, receptions, catalog: publicCatalog(options.config), now, delayMs: options.intakeDelayMs ?? 0, labKeys,
    imageUploaded: (sha, user) => imageStore.isOwner(sha, user),
    photoWait: limits.photoWait, accountName: (user) => accounts.nameOf(user),
    // In a cluster another relay's unfinished work is found by a sweep (see Intake.resume).
    sweepMs: options.cluster ? options.intakeSweepMs ?? 30_000 : undefined,
  })
  const labReports = new LabReports({ rooms, history: stores.history, receptions, now })
  hookOrders(hooks, intake, labReports)
  const images = lazyImages({
    store: imageStore, dataDir: options.dataDir, uploadsPool: stores.pool, limits, auth, now,
    labMayRead: (lab, sha) => receptions.labUsesImage(lab, sha),
    onOwned: (_sha, user) => void intake.imagesArrived(user),
  })
  const admin = createAdmin({
    audit: stores.audit, config: options.config, auth, now,
    presence: (lab) => presence.of(lab),
    queueLength: queueLengthFromRooms(rooms),
    reassign: (order, lab) => intake.reassign(order, lab),
  })
  const prices = { list: priceList(publicCatalog(options.config)), window: new AddressWindow(limits.signInsPerAddress, now, 'price list requests') }
  const clientAddress = clientAddressOf(options.trustProxy ?? null)
  const health = stores.health
  return { options, now, stores, accounts, signIns, labKeys, auth, rooms, intake, labReports, images, admin, presence, prices, clientAddress, health }
}

/** The document events order intake and lab reports hang off. */
function hookOrders(hooks: RoomHooks, intake: Intake, labReports: LabReports): void {
  // A cancel cited by an order already at the printer is refused: facts beyond the one document.
  hooks.beforeWrite = (room, principal, shape) => intake.beforeWrite(room, principal, shape)
  hooks.onChange = (room, origin) => {
    intake.onOrderChange(room, origin)
    labReports.onChange(room, origin)
  }
  // A document loaded, or re-read after another relay died (the hooks of its last writes may not have run).
  hooks.onLoad = hooks.onReread = (room) => {
    intake.onOrderLoad(room)
    labReports.onLoad(room)
  }
}

/** The HTTP server with the relay's timeouts and connection caps; errors answered by sendError. */
function httpServer(limits: Limits, clientAddress: ClientAddress, trusted: TrustedProxies | null, route: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Server {
  const server = createServer({ ...httpTimeouts(limits), maxHeaderSize: 16 * 1024 }, (req, res) => {
    logIfAborted(req, res, clientAddress)
    route(req, res).catch((error) => sendError(res, error))
  })
  // A trusted balancer carries many clients' connections: it is not held to one address's cap.
  limitConnections(server, limits, 'relay', (line) => console.error(line), undefined, trusted ? (address) => trusted.has(address) : undefined)
  return server
}

async function route(parts: RelayParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { accounts, signIns, auth } = parts
  const url = new URL(req.url ?? '/', 'http://relay')
  const path = url.pathname
  if (path === '/healthz') return serveHealth(res, parts.health, { rooms: parts.rooms.size })
  if (path === '/api/accounts' && req.method === 'POST') return signUp(req, res, accounts, signIns, parts.clientAddress)
  if (path === '/api/sessions' && req.method === 'POST') return signIn(req, res, accounts, signIns, parts.clientAddress)
  if (path === '/api/sessions' && req.method === 'DELETE') {
    const session = auth.fromRequest(req, url)
    if (!session || session.principal.kind !== 'user') throw new HttpError(401, 'not signed in')
    return signOut(res, accounts, bearerToken(req, url)!)
  }
  if (path.startsWith('/api/images/') || path === '/api/uploads' || path.startsWith('/api/uploads/')) return parts.images.handle(req, res, url)
  if (path.startsWith('/api/admin/')) return parts.admin.handle(req, res, url)
  if (path === '/api/prices') return servePrices(req, res, parts.prices.list, parts.prices.window, parts.clientAddress)
  if (path.startsWith('/api/labs/')) return handleLabApi(req, res, url, auth.fromRequest(req, url), { accounts, labKeys: parts.labKeys, now: parts.now, presence: parts.presence })
  if (path.startsWith('/api/')) throw new HttpError(404, `no such endpoint: ${req.method} ${path}`)
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed')
  return serveStatic(req, res, parts.options.webDir ?? join(REPO_ROOT, 'dist'), path)
}

/** The y-websocket endpoint: each accepted socket becomes a Connection; lab nodes' comings and goings are noted. */
function syncOptions(parts: RelayParts): Parameters<typeof serveSync>[1] {
  const { options, now, auth, rooms, presence } = parts
  const limits = options.config.limits
  const maxMessageBytes = options.maxMessageBytes ?? 8 * 1024 * 1024
  return {
    maxMessageBytes,
    heartbeatMs: options.heartbeatMs,
    limits,
    authenticate: (token) => auth.authenticate(token),
    accepted: ({ ws, session, room, token }) => {
      if (session.principal.kind === 'lab') {
        const lab = session.principal.labId
        const seen = () => presence.connection(lab).catch((error: Error) => console.error(`relay: noting lab ${lab}'s connection failed: ${error.message}`))
        void seen()
        ws.on('close', seen)
      }
      const connection = new Connection(ws, session, room, rooms, { maxMessageBytes, now, limits, stillValid: (s: Session) => auth.stillValid(s, token) })
      ws.on('close', auth.onSignOut(session, () => connection.close(Close.Unauthorized))) // signed out anywhere: closed now
    },
  }
}

/**
 * One line for a request whose connection closed before its answer was complete: the client went
 * away, or a timeout cut it. (Its query is left out: it may hold a token.)
 */
function logIfAborted(req: IncomingMessage, res: ServerResponse, clientAddress: ClientAddress): void {
  res.once('close', () => {
    if (res.writableFinished) return
    const path = (req.url ?? '/').split('?')[0].slice(0, 200)
    const body = req.complete ? 'after its body' : 'before the end of its body'
    console.error(`relay: ${req.method} ${path} from ${clientAddress(req)} ended ${body}, unanswered: client gone or timed out`)
  })
}

/**
 * The image routes load sharp and tus on the first image request, not at start: a relay that
 * restarts answers /healthz and syncs before it has paid for them.
 */
function lazyImages(deps: ImagesDeps): Images {
  let loaded: Promise<Images> | null = null
  const load = () => (loaded ??= import('../photos/intake.ts').then((module) => module.createImages(deps)))
  return {
    handle: async (req, res, url) => (await load()).handle(req, res, url),
    close: async () => { if (loaded) await (await loaded).close() },
  }
}
