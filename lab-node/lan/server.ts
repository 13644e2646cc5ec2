// The lab node's in-store server (`labsync lab --listen HOST:PORT`): the relay's sync protocol,
// rooms and rights, and its photo uploads, served to the store's terminals over the LAN, for
// customers' own documents only. It works while the relay is out of reach: customers' session
// tokens are checked against the relay's public key from the catalog (and the sign-outs fetched
// while the relay was reachable), orders and photos are stored here, a submitted order for one
// of this lab's stores gets a signed in-store stamp, and everything is passed on to the relay
// as soon as it can be reached (forwarder.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { readSpec, type Catalog } from '../../shared/schema.ts'
import { HttpError } from '../../shared/errors.ts'
import { publicKeyOf, signStamp, specDigest, verifyToken } from '../../shared/signing.ts'
import { refuseWriteInStore, type Principal } from '../../shared/rights.ts'
import { SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { SqliteImageStore } from '../../storage/sqlite/image-store.ts'
import { Rooms } from '../../sync-server/rooms.ts'
import { RELAY_ORIGIN, type Room, type RoomHooks } from '../../sync-server/room.ts'
import { Connection, type Session } from '../../sync-server/connection.ts'
import { serveSync } from '../../sync-server/endpoint.ts'
import { createImages } from '../../photos/intake.ts'
import { listen, sendError, sendJson } from '../../sync-server/respond.ts'
import { bearerToken } from '../../sync-server/respond.ts'
import { loadOrCreateSigningKey } from '../../storage/key-file.ts'
import { DEFAULT_LIMITS, type Limits } from '../../shared/limits.ts'
import { LanState } from './state.ts'
import { Forwarder } from './forwarder.ts'

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
   * What one customer may take of the in-store server: document sizes, message rates, sockets,
   * bytes buffered per socket. The relay's defaults unless given: the lab node does not know the
   * relay's configuration, and with the same limits what the store accepts the relay accepts too.
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
  close(): Promise<void>
}

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, tus-resumable, upload-length, upload-offset, upload-metadata, upload-defer-length, upload-concat, x-http-method-override, x-requested-with',
  'access-control-expose-headers': 'retry-after, upload-offset, upload-length, location, tus-version, tus-resumable, tus-max-size, tus-extension, upload-metadata, upload-expires',
  'access-control-max-age': '600',
  // Chrome's Private Network Access: a page from the relay's public origin reaching a LAN address.
  'access-control-allow-private-network': 'true',
}

export async function startLanServer(options: LanServerOptions): Promise<LanServer> {
  const now = options.now ?? Date.now
  const dir = join(options.dataDir, 'lan')
  const state = new LanState(dir, now)
  const signingKey = loadOrCreateSigningKey(dir, 'lab-signing-key.pem')
  const hooks: RoomHooks = {}
  const limits = options.limits ?? DEFAULT_LIMITS
  const rooms = new Rooms({ store: new SqliteDocStore(state.db), hooks, idleUnloadMs: 30_000, compactAfterUpdates: 500, maxRefusals: 20, refuseWrite: refuseWriteInStore, limits })
  const imageStore = new SqliteImageStore(state.db, dir, now)
  const photoPath = (sha256: string) => imageStore.path(sha256)

  // The catalog arrives from the relay through the lab's own link; it carries the relay's public key.
  let catalog: Catalog | null = null
  let relayKey: KeyObject | null = null
  const readCatalog = (room: Room) => {
    const map = room.doc.getMap('catalog')
    if (map.size === 0) return
    catalog = map.toJSON() as Catalog
    relayKey = publicKeyOf(catalog.relayKey)
  }

  const forwarder = new Forwarder({
    relayUrl: options.relayUrl.replace(/\/$/, ''), labId: options.labId, labKey: options.labKey, signingKey,
    rooms, state, imagePath: photoPath, log: options.log, pollMs: options.pollMs,
  })

  hooks.onLoad = (room) => {
    if (room.name.kind === 'catalog') readCatalog(room)
    // A submission stored just before a crash, and not stamped: stamp it now (later than it
    // happened, but still before the relay sees it). Documents not yet passed on load at start.
    if (room.name.kind === 'order') queueMicrotask(() => stampIfSubmitted(room))
  }
  hooks.onChange = (room, origin) => {
    if (room.name.kind === 'catalog') readCatalog(room)
    if (room.name.kind === 'order' && origin !== RELAY_ORIGIN && origin.kind === 'user') stampIfSubmitted(room)
  }

  /** A customer submitted an order for one of this lab's stores here: sign when the store received it. */
  function stampIfSubmitted(room: Room): void {
    if (room.name.kind !== 'order' || !catalog) return
    const spec = room.doc.getMap('spec')
    // Not when the copy carries a receipt or progress (a device that synced with the relay brought
    // them): that order reached the relay already, or was made to look so, and the relay would refuse it.
    if (spec.get('state') !== 'submitted' || ['instore', 'receipt', 'progress'].some((map) => room.doc.getMap(map).size > 0)) return
    const front = catalog.fronts.find((f) => f.id === spec.get('front'))
    const user = spec.get('user')
    if (!front || front.lab !== options.labId || typeof user !== 'string') return // another lab's store: the relay dates it
    const receivedAt = new Date(now() + forwarder.clockOffsetMs).toISOString()
    const stamp = signStamp(room.name.orderId, user, { lab: options.labId, front: front.id, receivedAt, spec: specDigest(readSpec(room.doc) ?? {}) }, signingKey)
    void room.writeAsRelay((doc) => {
      const map = doc.getMap('instore')
      for (const [key, value] of Object.entries(stamp)) map.set(key, value)
    }).then(
      () => options.log(`lan: order ${room.name.name.slice(6)} received in store ${front.id} at ${receivedAt}`),
      (error: Error) => options.log(`lan: stamping order ${room.name.name.slice(6)} failed: ${error.message}`),
    )
  }

  /** Customers' session tokens, checked offline: the relay's signature, expiry, and sign-outs known here. */
  const authenticate = (token: string | null | undefined): Session | null => {
    if (!token || !relayKey) return null
    const claims = verifyToken(token, relayKey)
    if (!claims || claims.exp <= now() + forwarder.clockOffsetMs || state.isRevoked(claims.sid)) return null
    return { principal: { kind: 'user', userId: claims.sub }, expiresAt: claims.exp }
  }
  const auth = { fromRequest: (req: IncomingMessage, url: URL) => authenticate(bearerToken(req, url)) }

  const images = createImages({
    db: state.db, dataDir: dir, limits: { imageBytes: options.imageBytes ?? 50 * 1024 * 1024 }, auth, now,
    onOwned: (sha256, user) => forwarder.photoArrived(sha256, user),
  })

  const serverOptions = { requestTimeout: 0, headersTimeout: 30_000, maxHeaderSize: 16 * 1024 }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value)
    route(req, res).catch((error) => sendError(res, error))
  }
  const server = options.tls ? createTlsServer({ ...serverOptions, ...options.tls }, handler) : createServer(serverOptions, handler)

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://lan')
    const path = url.pathname
    if (req.method === 'OPTIONS') { res.writeHead(204); res.end(); return }
    if (path === '/healthz') return sendJson(res, 200, { ok: true, lab: options.labId, catalog: catalog !== null, documentsPassedOn: forwarder.linkCount })
    if (path.startsWith('/api/images/') || path === '/api/uploads' || path.startsWith('/api/uploads/')) {
      // Remember the uploader's token first: the photo is passed on to the relay as them.
      const session = auth.fromRequest(req, url)
      if (session?.principal.kind === 'user') state.rememberToken(session.principal.userId, bearerToken(req, url)!, session.expiresAt)
      return images.handle(req, res, url)
    }
    throw new HttpError(404, `the in-store server has no ${req.method} ${path}; sign-in and everything else is at the relay`)
  }

  const NOT_READY = { code: 4503, reason: 'The lab node has not reached the relay yet, retry later' }
  const sync = serveSync(server, {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    heartbeatMs: options.heartbeatMs,
    limits,
    authenticate,
    unavailable: () => (relayKey ? null : NOT_READY),
    accepted: ({ ws, session, room, token }) => {
      const principal = session.principal as Extract<Principal, { kind: 'user' }>
      state.rememberToken(principal.userId, token, session.expiresAt)
      new Connection(ws, session, room, rooms, { maxMessageBytes: MAX_MESSAGE_BYTES, now, limits, stillValid: () => authenticate(token) !== null })
      if (room.kind !== 'user' && room.kind !== 'order') return
      // Pass the document on to the relay as this customer, once it is known they may read it here.
      let joined = false
      ws.once('close', () => { if (joined) forwarder.terminalLeft(room) })
      rooms.get(room).then((loaded) => {
        const mayRead = loaded.mayRead(principal)
        rooms.released(loaded)
        if (!mayRead || ws.readyState !== ws.OPEN) return
        joined = true
        return forwarder.terminalJoined(room, principal.userId)
      }).catch((error: Error) => options.log(`lan: ${room.name}: ${error.message}`))
    },
  })

  await forwarder.start()
  const authority = await listen(server, options.port, options.host)

  return {
    url: `${options.tls ? 'https' : 'http'}://${authority}`,
    photoPath: (sha256: string) => photoPath(sha256),
    async close() {
      server.close()
      await forwarder.close()
      await images.close()
      await rooms.close()
      sync.close()
      server.closeAllConnections()
      state.close()
    },
  }
}
