// The in-store server's HTTP face: CORS for the customer app served from the relay's origin,
// /healthz, and photo uploads (PUT and tus) kept here until the forwarder passes them on.
// Sign-in and everything else is at the relay.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from '../../shared/errors.ts'
import { bearerToken, sendError, sendJson } from '../../sync-server/respond.ts'
import type { Images } from '../../photos/intake.ts'
import type { InStoreIdentity } from './identity.ts'
import type { Forwarder } from './forwarder.ts'
import type { LanState } from './state.ts'

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, tus-resumable, upload-length, upload-offset, upload-metadata, upload-defer-length, upload-concat, x-http-method-override, x-requested-with',
  'access-control-expose-headers': 'retry-after, upload-offset, upload-length, location, tus-version, tus-resumable, tus-max-size, tus-extension, upload-metadata, upload-expires',
  'access-control-max-age': '600',
  // Chrome's Private Network Access: a page from the relay's public origin reaching a LAN address.
  'access-control-allow-private-network': 'true',
}

export interface RoutesOptions {
  labId: string
  identity: InStoreIdentity
  forwarder: Forwarder
  state: LanState
  images: Images
}

/** The request handler for the in-store server's HTTP(S) server. */
export function lanRoutes(options: RoutesOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { identity, forwarder, state, images } = options
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://lan')
    const path = url.pathname
    if (req.method === 'OPTIONS') { res.writeHead(204); res.end(); return }
    if (path === '/healthz') return sendJson(res, 200, { ok: true, lab: options.labId, catalog: identity.catalog !== null, documentsPassedOn: forwarder.linkCount })
    if (path.startsWith('/api/images/') || path === '/api/uploads' || path.startsWith('/api/uploads/')) {
      // Remember the uploader's token first: the photo is passed on to the relay as them.
      const token = bearerToken(req, url)
      const session = identity.authenticate(token)
      if (session?.principal.kind === 'user') state.rememberToken(session.principal.userId, token!, session.expiresAt)
      return images.handle(req, res, url)
    }
    throw new HttpError(404, `the in-store server has no ${req.method} ${path}; sign-in and everything else is at the relay`)
  }
  return (req, res) => {
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value)
    route(req, res).catch((error) => sendError(res, error))
  }
}
