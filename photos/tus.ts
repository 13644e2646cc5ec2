// Resumable photo uploads over tus at /api/uploads/: customers only, each upload continued only by
// its creator, the bytes its customer's unfinished uploads declare capped (limits.pendingUploadBytes),
// unfinished uploads swept a day after they were last touched, a full disk answered 507.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readdir, rm, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ERRORS, EVENTS, Server as TusServer, type ServerOptions, type Upload } from '@tus/server'
import { FileStore } from '@tus/file-store'
import { HttpError } from '../shared/errors.ts'
import type { Principal } from '../shared/rights.ts'
import { DEFAULT_LIMITS } from '../shared/limits.ts'
import { SHA256_HEX, type StoredImage } from '../storage/image-store.ts'
import { isStorageFull, storageFull } from '../sync-server/respond.ts'
import type { Session } from '../sync-server/connection.ts'
import { PendingUploads } from './pending-uploads.ts'

export const UPLOAD_PATH = '/api/uploads'
/** tus upload ids: we name them, so anything else in the URL is refused before it nears a path. */
const UPLOAD_ID = /^\/api\/uploads\/([0-9a-f]{32})$/
/** The upload metadata key the relay stamps with the creator; any client-sent value is replaced. */
const OWNER_KEY = 'owner'
const SWEEP_EVERY_MS = 60 * 60 * 1000
/**
 * Unfinished uploads untouched this long are deleted. A day covers a phone that lost its signal
 * or was put away overnight; one offline longer starts that photo again (tus-js-client creates a
 * new upload when its old one is gone), which costs bytes, not correctness. Meanwhile an upload
 * nobody will finish holds its customer's quota and the relay's disk for a day, not a week.
 */
export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000

/** tus's own request type (a web Request carrying the Node one), without naming its library. */
type TusRequest = Parameters<NonNullable<ServerOptions['onIncomingRequest']>>[0]
type Accept = (file: string, claimed: string, actual: string, bytes: number, owner: string) => Promise<{ image: StoredImage; created: boolean }>
/** A refusal in the shape tus hooks throw; retryAfter becomes Retry-After in onResponseError. */
type TusRefusal = { status_code: number; body: string; retryAfter?: number }

/** What the tus endpoint needs of the photo intake. */
export interface UploadsDeps {
  /** Unfinished uploads are kept in <dataDir>/uploads. */
  dataDir: string
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
  return new TusUploads(deps, limit, accept)
}

class TusUploads implements Uploads {
  private readonly directory: string
  private readonly pending: PendingUploads
  /** The upload each creation request reserved, to give it back when the creation fails. */
  private readonly reservedBy = new WeakMap<IncomingMessage, string>()
  private readonly datastore: UploadFiles
  private readonly tus: TusServer
  private readonly sweeping: NodeJS.Timeout
  /** The first sweep, then the count of what is left on disk: creations wait for it. */
  private readonly restored: Promise<void>

  constructor(private readonly deps: UploadsDeps, private readonly limit: number, private readonly accept: Accept) {
    this.directory = join(deps.dataDir, 'uploads')
    this.pending = new PendingUploads(deps.limits.pendingUploadBytes ?? DEFAULT_LIMITS.pendingUploadBytes)
    this.datastore = new UploadFiles(this.directory, (id) => this.discardUpload(id)) // creates the directory
    this.tus = new TusServer({
      path: UPLOAD_PATH,
      datastore: this.datastore,
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
    this.tus.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, id: string) => this.pending.release(id))
    const sweepNow = () => this.sweep().catch((error) => console.error('relay: upload sweep failed:', error))
    this.sweeping = setInterval(sweepNow, SWEEP_EVERY_MS)
    this.sweeping.unref()
    this.restored = sweepNow().then(() => this.restore()).catch((error) => console.error('relay: counting unfinished uploads failed:', error))
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      // tus would serve the upload's bytes; images are read from /api/images/ with their rights.
      res.setHeader('allow', 'OPTIONS, POST, HEAD, PATCH, DELETE')
      throw new HttpError(405, 'uploads are not readable; GET /api/images/<sha256>')
    }
    if (req.method !== 'OPTIONS' && !req.headers['tus-resumable']) throw new HttpError(412, 'Tus-Resumable: 1.0.0 is required')
    await this.tus.handle(req, res)
    // A creation refused after its reservation (a full disk, say) left no upload to count.
    const reserved = this.reservedBy.get(req)
    if (reserved && res.statusCode >= 300) {
      const exists = await stat(join(this.directory, `${reserved}.json`)).then(() => true, () => false)
      if (!exists) this.pending.release(reserved)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeping)
    await this.restored
  }

  private async discardUpload(id: string): Promise<void> {
    await rm(join(this.directory, id), { force: true })
    await rm(join(this.directory, `${id}.json`), { force: true })
    this.pending.release(id)
  }

  private principalOf(req: TusRequest): Principal | undefined {
    const node = nodeRequest(req)
    return node && this.deps.auth.fromRequest(node, new URL(req.url))?.principal
  }

  /** Customers only; an upload is continued only by its creator (anyone else: as if it did not exist). */
  private async checkCaller(req: TusRequest, uploadId: string): Promise<void> {
    const userId = tusRefusal(() => customer(this.principalOf(req)))
    if (req.method === 'POST') return
    const upload = await this.datastore.getUpload(uploadId) // unknown: tus answers 404 itself
    if (upload.metadata?.[OWNER_KEY] !== userId) throw tusError(404, 'no such upload')
  }

  /** A new upload: its sha256 named, its bytes counted against its customer's quota, its owner stamped. */
  private async created(req: TusRequest, upload: Upload): Promise<{ metadata: Record<string, string | null> }> {
    const sha256 = upload.metadata?.sha256
    if (!sha256 || !SHA256_HEX.test(sha256)) throw tusError(400, 'the upload metadata needs sha256, 64 lowercase hex digits')
    const userId = tusRefusal(() => customer(this.principalOf(req)))
    await this.restored
    tusRefusal(() => this.pending.reserve(upload.id, userId, upload.size ?? this.limit))
    const node = nodeRequest(req)
    if (node) this.reservedBy.set(node, upload.id)
    return { metadata: { ...upload.metadata, [OWNER_KEY]: userId } }
  }

  /** The last byte arrived: the photo is checked and stored like a PUT, and the upload removed. */
  private async finished(upload: Upload): Promise<{ headers: Record<string, string> }> {
    const file = join(this.directory, upload.id)
    try {
      const actual = await hashFile(file)
      const { image } = await this.accept(file, upload.metadata!.sha256!, actual.sha256, actual.bytes, upload.metadata![OWNER_KEY]!)
      return { headers: { 'Upload-Image': image.sha256 } }
    } catch (error) {
      // 460: a 4xx tus clients do not retry; the bytes were wrong, sending them again will not help.
      if (error instanceof HttpError) throw tusError(460, error.message)
      throw error
    } finally {
      await this.discardUpload(upload.id)
    }
  }

  /** Counts the unfinished uploads on disk (after the first sweep removed stale ones). */
  private async restore(): Promise<void> {
    const names = await readdir(this.directory).catch(() => [] as string[])
    for (const name of names) {
      const id = /^([0-9a-f]{32})\.json$/.exec(name)?.[1]
      if (!id) continue
      const upload = await this.datastore.getUpload(id).catch(() => null)
      const owner = upload?.metadata?.[OWNER_KEY]
      if (upload && owner) this.pending.add(id, owner, upload.size ?? this.limit)
    }
  }

  /**
   * Deletes unfinished uploads nobody touched for staleMs. (Not tus's expiration extension: with
   * it, tus re-reads an upload after onUploadFinish, and we delete finished uploads there.)
   */
  private async sweep(): Promise<void> {
    const staleMs = this.deps.staleUploadMs ?? STALE_UPLOAD_MS
    const names = await readdir(this.directory).catch(() => [] as string[])
    const ids = new Set(names.map((name) => /^([0-9a-f]{32})(?:\.json)?$/.exec(name)?.[1]).filter((id) => id !== undefined))
    const touched = (path: string) => stat(path).then((s) => s.mtimeMs, () => 0)
    for (const id of ids) {
      const last = Math.max(await touched(join(this.directory, id)), await touched(join(this.directory, `${id}.json`)))
      if (this.deps.now() - last > staleMs) await this.discardUpload(id)
    }
  }
}

const nodeRequest = (req: TusRequest) => req.runtime?.node?.req as IncomingMessage | undefined

/** Every error answer is JSON, tus's own included; a full disk is 507, and the upload keeps what it received. */
function answerError(req: TusRequest, error: Error | TusRefusal): { status_code: number; body: string } {
  const node = req.runtime?.node?.res as ServerResponse | undefined
  node?.setHeader('content-type', 'application/json; charset=utf-8')
  if (error instanceof Error && !isStorageFull(error)) {
    console.error('relay: upload failed:', error)
    return { status_code: 500, body: JSON.stringify({ error: 'internal error' }) }
  }
  const refusal = error instanceof Error ? tusRefusalOf(storageFull(507, error)) : error
  if (refusal.retryAfter !== undefined) node?.setHeader('retry-after', String(Math.max(1, Math.ceil(refusal.retryAfter))))
  return { status_code: refusal.status_code, body: asJsonError(refusal.body) }
}

/**
 * tus's FileStore, except that a full disk is told apart from a client that went away (tus's
 * own write turns every error into one 500), and a creation that failed half-way leaves nothing.
 */
class UploadFiles extends FileStore {
  constructor(directory: string, private readonly discard: (id: string) => Promise<void>) {
    super({ directory })
  }

  override async create(upload: Upload): Promise<Upload> {
    try {
      return await super.create(upload)
    } catch (error) {
      await this.discard(upload.id)
      throw error
    }
  }

  /** FileStore.write, keeping a full disk's error (onResponseError answers it 507). */
  override async write(readable: IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    let received = 0
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length
        callback(null, chunk)
      },
    })
    try {
      await pipeline(readable, counter, createWriteStream(join(this.directory, id), { flags: 'r+', start: offset }))
    } catch (error) {
      if (isStorageFull(error)) throw error
      throw ERRORS.FILE_WRITE_ERROR
    }
    return offset + received
  }
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
