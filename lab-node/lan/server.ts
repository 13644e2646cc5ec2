// The lab node's in-store server (`labsync lab --listen HOST:PORT`): the relay's sync protocol,
// rooms and rights, and its photo uploads, served to the store's terminals over the LAN, for
// customers' own documents only. It works while the relay is out of reach: customers' session
// tokens are checked against the relay's public key from the catalog (identity.ts), orders and
// photos are stored here, a submitted order for one of this lab's stores gets a signed in-store
// stamp (stamps.ts), and everything is passed on to the relay as soon as it can be reached
// (forwarder.ts). This module only wires those together.
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { join } from 'node:path'
import { refuseWriteInStore } from '../../shared/rights.ts'
import { DEFAULT_LIMITS, type Limits } from '../../shared/limits.ts'
import { SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { SqliteImageStore } from '../../storage/sqlite/image-store.ts'
import { Rooms } from '../../sync-server/rooms.ts'
import { SERVER_ORIGIN, type RoomHooks } from '../../sync-server/room.ts'
import { DEFAULT_COMPACT_AFTER } from '../../sync-server/stored-log.ts'
import { httpTimeouts, limitConnections, type ConnectionCaps } from '../../sync-server/http-limits.ts'
import { bearerToken, listen } from '../../sync-server/respond.ts'
import { createImages } from '../../photos/intake.ts'
import { LanState } from './state.ts'
import { Forwarder } from './forwarder.ts'
import { InStoreIdentity } from './identity.ts'
import { stampIfSubmitted, type StampOptions } from './stamps.ts'
import { lanRoutes } from './routes.ts'
import { serveTerminals } from './terminals.ts'

export interface LanServerOptions {
  host: string
  port: number
  /** The lab node's data directory; the in-store server keeps its files under `lan/` there. */
  dataDir: string
  relayUrl: string
  labId: string
  labKey: string
  log: (line: string) => void
  now?: () => number
  /** How often sign-outs, the relay's clock and pending photos are fetched/sent. */
  pollMs?: number
  imageBytes?: number
  /**
   * What one customer or address may take of the in-store server: document sizes, message rates,
   * sockets, bytes buffered per socket, HTTP timeouts and connections. The relay's defaults unless
   * given: the lab node does not know the relay's configuration, and with the same limits what the
   * store accepts the relay accepts too.
   */
  limits?: Limits
  /** Terminal sockets that do not answer a ping within this long are cut (default 30 s). */
  heartbeatMs?: number
  /**
   * PEM certificate and key: serve https/wss. Needed when the customer app is served over https
   * (a secure page may not open ws:// or fetch http://).
   */
  tls?: { cert: string; key: string }
}

export interface LanServer {
  url: string
  /** Where a photo uploaded over the LAN is, verified, or null when none was. */
  photoPath(sha256: string): string
  /** HTTP and WebSocket connections open now and refused over the caps (tests wait on these). */
  readonly connections: ConnectionCaps
  close(): Promise<void>
}

export async function startLanServer(options: LanServerOptions): Promise<LanServer> {
  const now = options.now ?? Date.now
  const { log, labId } = options
  const dir = join(options.dataDir, 'lan')
  const limits = options.limits ?? DEFAULT_LIMITS
  const state = new LanState(dir, now)
  // The relay's clock, as the forwarder measured it: what stamps and token expiry go by. Read only
  // once requests and documents arrive, after the forwarder exists.
  const relayNow = () => now() + forwarder.clockOffsetMs
  const identity = new InStoreIdentity(dir, { relayNow, isRevoked: (sid) => state.isRevoked(sid) })
  const hooks = documentHooks({ labId, identity, relayNow, log })
  const store = new SqliteDocStore(state.db)
  const rooms = new Rooms({ store, hooks, idleUnloadMs: 30_000, compactAfterUpdates: DEFAULT_COMPACT_AFTER, maxRefusals: 20, refuseWrite: refuseWriteInStore, limits })
  const imageStore = new SqliteImageStore(state.db, dir, now)
  const photoPath = (sha256: string) => imageStore.path(sha256)
  const forwarder = new Forwarder({
    relayUrl: options.relayUrl.replace(/\/$/, ''), labId, labKey: options.labKey, signingKey: identity.stampKey,
    rooms, state, imagePath: photoPath, log, pollMs: options.pollMs,
  })
  const images = createImages({
    store: new SqliteImageStore(state.db, dir, now), dataDir: dir, limits: { imageBytes: options.imageBytes ?? limits.imageBytes }, now,
    auth: { fromRequest: (req, url) => identity.authenticate(bearerToken(req, url)) },
    onOwned: (sha256, user) => forwarder.photoArrived(sha256, user),
  })

  const handler = lanRoutes({ labId, identity, forwarder, state, images })
  const serverOptions = { ...httpTimeouts(limits), maxHeaderSize: 16 * 1024 }
  const server = options.tls ? createTlsServer({ ...serverOptions, ...options.tls }, handler) : createServer(serverOptions, handler)
  const connections = limitConnections(server, limits, 'lan', log)
  const sync = serveTerminals(server, { rooms, identity, forwarder, state, limits, heartbeatMs: options.heartbeatMs, now, log })

  await forwarder.start()
  const authority = await listen(server, options.port, options.host)
  return {
    url: `${options.tls ? 'https' : 'http'}://${authority}`,
    photoPath,
    connections,
    async close() {
      server.close()
      await forwarder.close()
      await images.close()
      await rooms.close()
      await store.close() // its writer thread would keep a process that started the server alive
      sync.close()
      server.closeAllConnections()
      state.close()
    },
  }
}

/**
 * The local documents' events: the catalog, whenever it arrives or changes, is what the identity
 * trusts; a customer's submission for one of this lab's stores is stamped.
 */
function documentHooks(stamps: StampOptions): RoomHooks {
  return {
    onLoad(room) {
      if (room.name.kind === 'catalog') stamps.identity.readCatalog(room)
      // A submission stored just before a crash, and not stamped: stamp it now (later than it
      // happened, but still before the relay sees it). Documents not yet passed on load at start.
      if (room.name.kind === 'order') queueMicrotask(() => stampIfSubmitted(room, stamps))
    },
    onChange(room, origin) {
      if (room.name.kind === 'catalog') stamps.identity.readCatalog(room)
      if (room.name.kind === 'order' && origin !== SERVER_ORIGIN && origin.kind === 'user') stampIfSubmitted(room, stamps)
    },
  }
}
