// Photos by content hash: PUT /api/images/<sha256>, resumable uploads over tus at /api/uploads/,
// GET with SPEC's rights. Both ways in verify the bytes the same way before anything is stored.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import sharp, { type Metadata } from 'sharp'
import { Server as TusServer, type ServerOptions } from '@tus/server'
import { FileStore } from '@tus/file-store'
import type { DB } from '../store/db.ts'
import type { Session } from '../sync/connection.ts'
import { HttpError } from '../../shared/errors.ts'
import type { Principal } from '../../shared/rights.ts'
import { IMAGE_TYPES, ImageStore, SHA256_HEX, isImageFormat, type ImageMeta, type StoredImage } from '../store/images.ts'
import { sendJson } from './respond.ts'

export interface ImagesDeps {
  db: DB
  dataDir: string
  limits: { imageBytes: number }
  /** Who asks: the relay's Authenticator, or the lab node's LAN one. */
  auth: { fromRequest(req: IncomingMessage, url: URL): Session | null }
  now: () => number
  /** Whether a lab may read an image: one of its assigned orders uses it. */
  labMayRead?: (labId: string, sha256: string) => boolean
  /** Unfinished tus uploads untouched this long are deleted; 7 days unless given. */
  staleUploadMs?: number
  /** A customer now owns this image (new or not): orders waiting for it may go ahead. */
  onOwned?: (sha256: string, userId: string) => void
}

export interface Images {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>
  close(): Promise<void>
}

const IMAGE_PATH = '/api/images/'
const UPLOAD_PATH = '/api/uploads'
/** tus upload ids: we name them, so anything else in the URL is refused before it nears a path. */
const UPLOAD_ID = /^\/api\/uploads\/([0-9a-f]{32})$/
/** The upload metadata key the relay stamps with the creator; any client-sent value is replaced. */
const OWNER_KEY = 'owner'
/** sharp refuses larger images before decoding them (a 100 MP photo is already far beyond a print). */
const MAX_PIXELS = 100_000_000
const SWEEP_EVERY_MS = 60 * 60 * 1000
const NOT_AN_IMAGE = 'the body is not a complete JPEG, PNG, WebP, HEIF, AVIF or TIFF image'

/** tus's own request type (a web Request carrying the Node one), without naming its library. */
type TusRequest = Parameters<NonNullable<ServerOptions['onIncomingRequest']>>[0]

export function createImages(deps: ImagesDeps): Images {
  const store = new ImageStore(deps.db, deps.dataDir, deps.now)
  const limit = Math.floor(deps.limits.imageBytes)
  const uploads = createUploads(deps, limit, accept)

  /** Hash checked, decodability checked, file placed, ownership recorded: PUT and tus alike. */
  async function accept(file: string, claimed: string, actual: string, bytes: number, owner: string): Promise<{ image: StoredImage; created: boolean }> {
    if (actual !== claimed) throw new HttpError(400, `the body's sha256 is ${actual}, not ${claimed}`)
    const existing = store.get(claimed)
    if (existing) {
      // Identical bytes were verified when first stored; holding them is what makes an owner.
      store.addOwner(claimed, owner)
      await rm(file, { force: true })
      deps.onOwned?.(claimed, owner)
      return { image: existing, created: false }
    }
    const meta = await probeImage(file, bytes)
    await store.adopt(file, claimed)
    const created = store.record(claimed, meta, owner)
    deps.onOwned?.(claimed, owner)
    return { image: store.get(claimed)!, created }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === UPLOAD_PATH || url.pathname.startsWith(UPLOAD_PATH + '/')) return uploads.handle(req, res)
    const sha256 = url.pathname.slice(IMAGE_PATH.length)
    if (req.method === 'PUT') return putImage(req, res, url, sha256)
    if (req.method === 'GET' || req.method === 'HEAD') return getImage(req, res, url, sha256)
    res.setHeader('allow', 'GET, HEAD, PUT')
    throw new HttpError(405, 'method not allowed')
  }

  async function putImage(req: IncomingMessage, res: ServerResponse, url: URL, claimed: string): Promise<void> {
    const userId = customer(deps.auth.fromRequest(req, url)?.principal)
    if (!SHA256_HEX.test(claimed)) throw new HttpError(400, 'the URL must end in the image\'s sha256, 64 lowercase hex digits')
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      res.setHeader('connection', 'close') // do not read a body we refuse
      throw new HttpError(413, `an image may have at most ${limit} bytes`)
    }
    const temp = store.incomingPath()
    const file = await open(temp, 'wx')
    try {
      let received: { sha256: string; bytes: number }
      try {
        received = await receiveBody(req, file, limit)
        await file.sync()
      } finally {
        await file.close()
      }
      const { image, created } = await accept(temp, claimed, received.sha256, received.bytes, userId)
      sendJson(res, created ? 201 : 200, describe(image))
    } catch (error) {
      if (error instanceof HttpError && error.status === 413) res.setHeader('connection', 'close')
      throw error
    } finally {
      await rm(temp, { force: true }) // gone already when accepted
    }
  }

  async function getImage(req: IncomingMessage, res: ServerResponse, url: URL, sha256: string): Promise<void> {
    const session = deps.auth.fromRequest(req, url)
    if (!session) throw new HttpError(401, 'not signed in')
    // Unknown and forbidden answer alike, so nobody can probe for the hashes of others' photos.
    const image = SHA256_HEX.test(sha256) ? store.get(sha256) : null
    if (!image || !mayRead(session.principal, sha256)) throw new HttpError(404, 'no such image')
    const etag = `"${image.sha256}"`
    const headers = {
      'content-type': IMAGE_TYPES[image.format],
      'cache-control': 'private, max-age=31536000, immutable',
      etag,
      'x-content-type-options': 'nosniff',
    }
    if (req.headers['if-none-match']?.split(/\s*,\s*/).some((tag) => tag === etag || tag === `W/${etag}` || tag === '*')) {
      res.writeHead(304, headers)
      return void res.end()
    }
    const file = await open(store.path(sha256), 'r') // before any header, so a failure is still an error answer
    res.writeHead(200, { ...headers, 'content-length': image.bytes })
    if (req.method === 'HEAD') {
      await file.close()
      return void res.end()
    }
    // A client that goes away mid-image is no error of ours.
    await pipeline(file.createReadStream(), res).catch(() => res.destroy())
  }

  function mayRead(who: Principal, sha256: string): boolean {
    switch (who.kind) {
      case 'admin': return true
      case 'user': return store.isOwner(sha256, who.userId)
      case 'lab': return deps.labMayRead?.(who.labId, sha256) ?? false
    }
  }

  return { handle, close: () => uploads.close() }
}

type Accept = (file: string, claimed: string, actual: string, bytes: number, owner: string) => Promise<{ image: StoredImage; created: boolean }>

/** The tus endpoint: customers only, each upload continued only by its creator. */
function createUploads(deps: ImagesDeps, limit: number, accept: Accept) {
  const directory = join(deps.dataDir, 'uploads')
  const datastore = new FileStore({ directory }) // creates the directory

  const principalOf = (req: TusRequest): Principal | undefined => {
    const node = req.runtime?.node?.req as IncomingMessage | undefined
    return node && deps.auth.fromRequest(node, new URL(req.url))?.principal
  }

  const tus = new TusServer({
    path: UPLOAD_PATH,
    datastore,
    maxSize: limit,
    // Relative, so the upload URL stays on the origin the browser used, whatever Host a proxy sends.
    relativeLocation: true,
    namingFunction: () => randomBytes(16).toString('hex'),
    getFileIdFromRequest: (req) => UPLOAD_ID.exec(new URL(req.url).pathname)?.[1],
    async onIncomingRequest(req, uploadId) {
      const userId = tusRefusal(() => customer(principalOf(req)))
      if (req.method === 'POST') return
      const upload = await datastore.getUpload(uploadId) // unknown: tus answers 404 itself
      if (upload.metadata?.[OWNER_KEY] !== userId) throw tusError(404, 'no such upload')
    },
    async onUploadCreate(req, upload) {
      const sha256 = upload.metadata?.sha256
      if (!sha256 || !SHA256_HEX.test(sha256)) throw tusError(400, 'the upload metadata needs sha256, 64 lowercase hex digits')
      const userId = tusRefusal(() => customer(principalOf(req)))
      return { metadata: { ...upload.metadata, [OWNER_KEY]: userId } }
    },
    async onUploadFinish(_req, upload) {
      const file = join(directory, upload.id)
      try {
        const actual = await hashFile(file)
        const { image } = await accept(file, upload.metadata!.sha256!, actual.sha256, actual.bytes, upload.metadata![OWNER_KEY]!)
        return { headers: { 'Upload-Image': image.sha256 } }
      } catch (error) {
        // 460: a 4xx tus clients do not retry; the bytes were wrong, sending them again will not help.
        if (error instanceof HttpError) throw tusError(460, error.message)
        throw error
      } finally {
        await discardUpload(upload.id)
      }
    },
    onResponseError(req, error) {
      // Every error answer is JSON, tus's own included.
      const node = req.runtime?.node?.res as ServerResponse | undefined
      node?.setHeader('content-type', 'application/json; charset=utf-8')
      if (error instanceof Error) {
        console.error('relay: upload failed:', error)
        return { status_code: 500, body: JSON.stringify({ error: 'internal error' }) }
      }
      return { status_code: error.status_code, body: asJsonError(error.body) }
    },
  })

  async function discardUpload(id: string): Promise<void> {
    await rm(join(directory, id), { force: true })
    await rm(join(directory, `${id}.json`), { force: true })
  }

  /**
   * Deletes unfinished uploads nobody touched for staleMs. (Not tus's expiration extension: with
   * it, tus re-reads an upload after onUploadFinish, and we delete finished uploads there.)
   */
  async function sweep(): Promise<void> {
    const staleMs = deps.staleUploadMs ?? 7 * 24 * 60 * 60 * 1000
    const names = await readdir(directory).catch(() => [] as string[])
    const ids = new Set(names.map((name) => /^([0-9a-f]{32})(?:\.json)?$/.exec(name)?.[1]).filter((id) => id !== undefined))
    const touched = (path: string) => stat(path).then((s) => s.mtimeMs, () => 0)
    for (const id of ids) {
      const last = Math.max(await touched(join(directory, id)), await touched(join(directory, `${id}.json`)))
      if (deps.now() - last > staleMs) await discardUpload(id)
    }
  }
  const sweepNow = () => sweep().catch((error) => console.error('relay: upload sweep failed:', error))
  const sweeping = setInterval(sweepNow, SWEEP_EVERY_MS)
  sweeping.unref()
  const firstSweep = sweepNow()

  return {
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (req.method === 'GET') {
        // tus would serve the upload's bytes; images are read from /api/images/ with their rights.
        res.setHeader('allow', 'OPTIONS, POST, HEAD, PATCH, DELETE')
        throw new HttpError(405, 'uploads are not readable; GET /api/images/<sha256>')
      }
      if (req.method !== 'OPTIONS' && !req.headers['tus-resumable']) throw new HttpError(412, 'Tus-Resumable: 1.0.0 is required')
      await tus.handle(req, res)
    },
    async close(): Promise<void> {
      clearInterval(sweeping)
      await firstSweep
    },
  }
}

/** The customer's user id; 401 without a session, 403 for labs and admins. */
function customer(who: Principal | undefined): string {
  if (!who) throw new HttpError(401, 'not signed in')
  if (who.kind !== 'user') throw new HttpError(403, 'only customers upload images')
  return who.userId
}

function tusError(status: number, message: string): { status_code: number; body: string } {
  return { status_code: status, body: JSON.stringify({ error: message }) }
}

/** Runs a check that throws HttpError and rethrows it the way tus hooks must. */
function tusRefusal<T>(check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof HttpError) throw tusError(error.status, error.message)
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

function describe(image: StoredImage): { sha256: string; bytes: number; width: number; height: number; format: string } {
  return { sha256: image.sha256, bytes: image.bytes, width: image.width, height: image.height, format: image.format }
}

/**
 * What an image is, after a full decode: a truncated or corrupt file fails here, not at the lab.
 * Throws HttpError 400 for anything that is not a whole image of an accepted format.
 */
async function probeImage(file: string, bytes: number): Promise<ImageMeta> {
  let meta: Metadata
  try {
    meta = await sharp(file, { limitInputPixels: MAX_PIXELS }).metadata()
    // Decoding to a thumbnail reads every byte of the compressed data; metadata() alone does not.
    await sharp(file, { limitInputPixels: MAX_PIXELS }).rotate().resize(64, 64, { fit: 'inside' }).toBuffer()
  } catch {
    throw new HttpError(400, NOT_AN_IMAGE)
  }
  const format = meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format
  if (!isImageFormat(format)) throw new HttpError(400, NOT_AN_IMAGE)
  const { width, height } = meta.autoOrient ?? meta
  if (!width || !height) throw new HttpError(400, NOT_AN_IMAGE)
  return { bytes, width, height, format }
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

/**
 * Streams a request body into `file` while hashing it; 413 as soon as it passes `limit`.
 * Reads with events, not `for await`: leaving an async iterator early destroys the socket,
 * and then the 413 could not be answered.
 */
function receiveBody(req: IncomingMessage, file: FileHandle, limit: number): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    let bytes = 0
    let writing: Promise<void> = Promise.resolve()
    let settled = false
    const finish = (error: Error | null) => {
      if (settled) return
      settled = true
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError)
      if (error) {
        req.resume() // discard the rest until the answer is sent and the connection closed
        writing.catch(() => {}).then(() => reject(error))
      } else {
        writing.then(() => resolve({ sha256: hash.digest('hex'), bytes }), reject)
      }
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > limit) return finish(new HttpError(413, `an image may have at most ${limit} bytes`))
      hash.update(chunk)
      req.pause()
      writing = writeAll(file, chunk).then(() => { if (!settled) req.resume() }, (error: Error) => finish(error))
    }
    const onEnd = () => finish(null)
    const onClose = () => { if (!req.complete) finish(new HttpError(400, 'the upload was interrupted')) }
    const onError = (error: Error) => finish(error)
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onError)
  })
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) offset += (await file.write(chunk, offset)).bytesWritten
}
