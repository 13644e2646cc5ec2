// What lab nodes ask the relay besides syncing (lab key as Bearer only):
//   GET  /api/labs/revocations?after=SEQ  sign-outs since SEQ, for checking tokens offline in a store,
//                                         with the relay's clock so the lab node can measure its own skew
//   POST /api/labs/keys {publicKey: JWK}  registers the Ed25519 key the lab node signs in-store stamps with
//   POST /api/labs/presence {intervalMs, printers: [{uri, state, reasons, media?}]}
//                                         the lab node's heartbeat with its printers' states and the
//                                         media each holds (204); shape and bounds: shared/presence.ts
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from '../../shared/errors.ts'
import type { Accounts } from '../store/accounts.ts'
import type { LabKeys } from '../store/lab-keys.ts'
import type { LabPresences } from '../store/lab-presence.ts'
import { parsePresenceReport } from '../../shared/presence.ts'
import type { Session } from '../../sync-server/connection.ts'
import { readJson, sendJson } from '../../sync-server/respond.ts'

export interface LabApiDeps {
  accounts: Accounts
  labKeys: LabKeys
  now: () => number
  /** Where heartbeats go; without it /api/labs/presence is 404, as on a relay before issue 15. */
  presence?: LabPresences
}

const PAGE = 1_000

export async function handleLabApi(req: IncomingMessage, res: ServerResponse, url: URL, session: Session | null, deps: LabApiDeps): Promise<void> {
  if (!session) throw new HttpError(401, 'a lab key is needed')
  if (session.principal.kind !== 'lab') throw new HttpError(403, 'only lab nodes use /api/labs/')
  const lab = session.principal.labId
  if (url.pathname === '/api/labs/revocations' && req.method === 'GET') {
    const after = url.searchParams.get('after') ?? '0'
    if (!/^\d{1,15}$/.test(after)) throw new HttpError(400, 'after must be a revocation sequence number')
    const { revocations, last } = await deps.accounts.revocationsAfter(Number(after), PAGE)
    return sendJson(res, 200, { now: deps.now(), last, more: revocations.length === PAGE, revoked: revocations.map(({ sid, expiresAt }) => ({ sid, expiresAt })) })
  }
  if (url.pathname === '/api/labs/keys' && req.method === 'POST') {
    const body = await readJson(req)
    const { outcome, keyId } = await deps.labKeys.register(lab, body.publicKey)
    if (outcome === 'invalid') throw new HttpError(400, 'publicKey must be an Ed25519 public key as a JWK {kty: "OKP", crv: "Ed25519", x}')
    if (outcome === 'taken') throw new HttpError(409, 'this key is registered to another lab')
    return sendJson(res, outcome === 'created' ? 201 : 200, { keyId })
  }
  if (url.pathname === '/api/labs/presence' && req.method === 'POST' && deps.presence) {
    await deps.presence.heartbeat(lab, parsePresenceReport(await readJson(req)))
    res.writeHead(204).end()
    return
  }
  throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`)
}

/** A heartbeat's body, checked by the shape both sides share (shared/presence.ts); a 400 naming the field otherwise. */
export { parsePresenceReport }
