// Resumable photo uploads over tus at /api/uploads/: customers only, each upload continued only by
// its creator, the bytes its customer's unfinished uploads declare capped (limits.pendingUploadBytes),
// unfinished uploads swept a day after they were last touched, a full disk answered 507. The bytes
// wait in files under the data dir, or in a cluster in PostgreSQL, where every relay reads them
// (partial-files.ts, partial-postgres.ts).
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type pg from 'pg'
import { EVENTS, Server as TusServer, type ServerOptions, type Upload } from '@tus/server'
import { HttpError } from '../shared/errors.ts'
import type { Principal } from '../shared/rights.ts'
import { DEFAULT_LIMITS } from '../shared/limits.ts'
import { SHA256_HEX, type StoredImage } from '../storage/image-store.ts'
import { isStorageFull, isStoreUnreachable, storageFull, storeUnreachable } from '../sync-server/respond.ts'
import type { Session } from '../sync-server/connection.ts'
import { OWNER_KEY, type PartialUploads } from './partial-uploads.ts'
import { PartialFiles } from './partial-files.ts'
import { PartialPostgres } from './partial-postgres.ts'

export const UPLOAD_PATH = '/api/uploads'
/** tus upload ids: we name them, so anything else in the URL is refused before it nears a path. */
const UPLOAD_ID = /^\/api\/uploads\/([0-9a-f]{32})$/

/** tus's own request type (a web Request carrying the Node one), without naming its library. */
type TusRequest = Parameters<NonNullable<ServerOptions['onIncomingRequest']>>[0]
type Accept = (file: string, claimed: string, actual: string, bytes: number, owner: string) => Promise<{ image: StoredImage; created: boolean }>
/** A refusal in the shape tus hooks throw; retryAfter becomes Retry-After in onResponseError. */
type TusRefusal = { status_code: number; body: string; retryAfter?: number }

/** What the tus endpoint needs of the photo intake. */
export interface UploadsDeps {
  /** Unfinished uploads are kept in <dataDir>/uploads (without `uploadsPool`). */
  dataDir: string
  /**
   * Cluster mode: unfinished uploads are kept in this PostgreSQL database instead, so any relay
   * continues an upload another one began (a balancer's round-robin, a relay that died).
   */
  uploadsPool?: pg.Pool | null
  /** pendingUploadBytes: DEFAULT_LIMITS' unless given. */
  limits: { pendingUploadBytes?: number }
  auth: { fromRequest(req: IncomingMessage, url: URL): Session | null }
  now: () => number
  /** Unfinished tus uploads untouched this long are deleted; STALE_UPLOAD_MS (a day) unless given. */
  staleUploadMs?: number
}

export interface Uploads {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>
  close(): Promise<void>
}

export function createUploads(deps: UploadsDeps, limit: number, accept: Accept): Uploads {
  const options = {
    dataDir: deps.dataDir, limit, now: deps.now, staleUploadMs: deps.staleUploadMs,
    cap: deps.limits.pendingUploadBytes ?? DEFAULT_LIMITS.pendingUploadBytes,
  }
  const partial = deps.uploadsPool ? new PartialPostgres(deps.uploadsPool, options) : new PartialFiles(options)
  return new TusUploads(deps, partial, limit, accept)
}

class TusUploads implements Uploads {
  private readonly tus: TusServer

  constructor(private readonly deps: UploadsDeps, private readonly partial: PartialUploads, private readonly limit: number, private readonly accept: Accept) {
    this.tus = new TusServer({
      path: UPLOAD_PATH,
      datastore: partial.datastore,
      maxSize: limit,
      // Relative, so the upload URL stays on the origin the browser used, whatever Host a proxy sends.
      relativeLocation: true,
      namingFunction: () => randomBytes(16).toString('hex'),
      getFileIdFromRequest: (req) => UPLOAD_ID.exec(new URL(req.url).pathname)?.[1],
      onIncomingRequest: (req, uploadId) => this.checkCaller(req, uploadId),
      onUploadCreate: (req, upload) => this.created(req, upload),
      onUploadFinish: (_req, upload) => this.finished(upload),
      onResponseError: (req, error) => answerError(req, error),
    })
    // A customer's DELETE (tus termination) ends an upload: its bytes no longer count.
    this.tus.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, id: string) => this.partial.terminated(id))
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      // tus would serve the upload's bytes; images are read from /api/images/ with their rights.
      res.setHeader('allow', 'OPTIONS, POST, HEAD, PATCH, DELETE')
      throw new HttpError(405, 'uploads are not readable; GET /api/images/<sha256>')
    }
    if (req.method !== 'OPTIONS' && !req.headers['tus-resumable']) throw new HttpError(412, 'Tus-Resumable: 1.0.0 is required')
    await this.tus.handle(req, res)
    await this.partial.settled(req, res)
  }

  async close(): Promise<void> {
    await this.partial.close()
  }

  private principalOf(req: TusRequest): Principal | undefined {
    const node = nodeRequest(req)
    return node && this.deps.auth.fromRequest(node, new URL(req.url))?.principal
  }

  /** Customers only; an upload is continued only by its creator (anyone else: as if it did not exist). */
  private async checkCaller(req: TusRequest, uploadId: string): Promise<void> {
    const userId = tusRefusal(() => customer(this.principalOf(req)))
    if (req.method === 'POST') return
    const upload = await this.partial.datastore.getUpload(uploadId) // unknown: tus answers 404 itself
    if (upload.metadata?.[OWNER_KEY] !== userId) throw tusError(404, 'no such upload')
  }

  /** A new upload: its sha256 named, its bytes counted against its customer's quota, its owner stamped. */
  private async created(req: TusRequest, upload: Upload): Promise<{ metadata: Record<string, string | null> }> {
    const sha256 = upload.metadata?.sha256
    if (!sha256 || !SHA256_HEX.test(sha256)) throw tusError(400, 'the upload metadata needs sha256, 64 lowercase hex digits')
    const userId = tusRefusal(() => customer(this.principalOf(req)))
    try {
      await this.partial.reserve(upload.id, userId, upload.size ?? this.limit, nodeRequest(req))
    } catch (error) {
      if (error instanceof HttpError) throw tusRefusalOf(error)
      throw error
    }
    return { metadata: { ...upload.metadata, [OWNER_KEY]: userId } }
  }

  /** The last byte arrived: the photo is checked and stored like a PUT, and the upload removed. */
  private async finished(upload: Upload): Promise<{ headers: Record<string, string> }> {
    try {
      const file = await this.partial.assemble(upload)
      const actual = await hashFile(file)
      const { image } = await this.accept(file, upload.metadata!.sha256!, actual.sha256, actual.bytes, upload.metadata![OWNER_KEY]!)
      return { headers: { 'Upload-Image': image.sha256 } }
    } catch (error) {
      // 460: a 4xx tus clients do not retry; the bytes were wrong, sending them again will not help.
      if (error instanceof HttpError) throw tusError(460, error.message)
      throw error
    } finally {
      await this.partial.discard(upload.id)
    }
  }
}

const nodeRequest = (req: TusRequest) => req.runtime?.node?.req as IncomingMessage | undefined

/** Every error answer is JSON, tus's own included; a full disk is 507, and the upload keeps what it received. */
function answerError(req: TusRequest, error: Error | TusRefusal): { status_code: number; body: string } {
  const node = req.runtime?.node?.res as ServerResponse | undefined
  node?.setHeader('content-type', 'application/json; charset=utf-8')
  const clientGone = nodeRequest(req)?.destroyed === true
  const unreachable = error instanceof Error && !clientGone && isStoreUnreachable(error)
  if (error instanceof Error && !isStorageFull(error) && !unreachable && !(error instanceof HttpError)) {
    console.error('relay: upload failed:', error)
    return { status_code: 500, body: JSON.stringify({ error: 'internal error' }) }
  }
  const refusal = error instanceof HttpError ? tusRefusalOf(error)
    : error instanceof Error ? tusRefusalOf(unreachable ? storeUnreachable(error) : storageFull(507, error))
    : error
  if (refusal.retryAfter !== undefined) node?.setHeader('retry-after', String(Math.max(1, Math.ceil(refusal.retryAfter))))
  return { status_code: refusal.status_code, body: asJsonError(refusal.body) }
}

/** The customer's user id; 401 without a session, 403 for labs and admins. */
export function customer(who: Principal | undefined): string {
  if (!who) throw new HttpError(401, 'not signed in')
  if (who.kind !== 'user') throw new HttpError(403, 'only customers upload images')
  return who.userId
}

function tusError(status: number, message: string, retryAfter?: number): TusRefusal {
  return { status_code: status, body: JSON.stringify({ error: message }), retryAfter }
}

const tusRefusalOf = (error: HttpError): TusRefusal => tusError(error.status, error.message, error.retryAfter)

/** Runs a check that throws HttpError and rethrows it the way tus hooks must. */
function tusRefusal<T>(check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof HttpError) throw tusRefusalOf(error)
    throw error
  }
}

function asJsonError(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) return body
  } catch { /* tus's plain-text bodies */ }
  return JSON.stringify({ error: body.trim() })
}

async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk)
    bytes += chunk.length
  }
  return { sha256: hash.digest('hex'), bytes }
}
