// Photos by content hash: PUT /api/images/<sha256>, resumable uploads over tus at /api/uploads/
// (tus.ts), GET with SPEC's rights, kept in the ImageStore the caller gives. Both ways in verify the bytes the same way before anything
// is stored; a full disk answers 507 (retry later), and leaves no partial file.
import { createHash } from 'node:crypto'
import { open, rm, type FileHandle } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import sharp, { type Metadata } from 'sharp'
import type pg from 'pg'
import type { Session } from '../sync-server/connection.ts'
import { HttpError } from '../shared/errors.ts'
import type { Principal } from '../shared/rights.ts'
import { IMAGE_TYPES, ImageMissingError, SHA256_HEX, isImageFormat, type ImageMeta, type ImageStore, type StoredImage } from '../storage/image-store.ts'
import { isStorageFull, sendJson, storageFull } from '../sync-server/respond.ts'
import { UPLOAD_PATH, createUploads, customer } from './tus.ts'

export interface ImagesDeps {
  /** Where photos are kept: the relay's ImageStore, or the lab node's in-store one. */
  store: ImageStore
  /** tus keeps unfinished uploads in <dataDir>/uploads, unless `uploadsPool` is given. */
  dataDir: string
  /** Cluster mode: unfinished tus uploads in this PostgreSQL database, continued by any relay. */
  uploadsPool?: pg.Pool | null
  /** pendingUploadBytes: DEFAULT_LIMITS' unless given. */
  limits: { imageBytes: number; pendingUploadBytes?: number }
  /** Who asks: the relay's Authenticator, or the lab node's LAN one. */
  auth: { fromRequest(req: IncomingMessage, url: URL): Session | null }
  now: () => number
  /** Whether a lab may read an image: one of its assigned orders uses it. */
  labMayRead?: (labId: string, sha256: string) => boolean | Promise<boolean>
  /** Unfinished tus uploads untouched this long are deleted; STALE_UPLOAD_MS (a day) unless given. */
  staleUploadMs?: number
  /** A customer now owns this image (new or not): orders waiting for it may go ahead. */
  onOwned?: (sha256: string, userId: string) => void
}

export interface Images {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>
  close(): Promise<void>
}

const IMAGE_PATH = '/api/images/'
/** sharp refuses larger images before decoding them (a 100 MP photo is already far beyond a print). */
const MAX_PIXELS = 100_000_000
const NOT_AN_IMAGE = 'the body is not a complete JPEG, PNG, WebP, HEIF, AVIF or TIFF image'

type Accept = (file: string, claimed: string, actual: string, bytes: number, owner: string) => Promise<{ image: StoredImage; created: boolean }>

/** What the PUT and GET handlers share. */
interface PhotoIntake {
  deps: ImagesDeps
  store: ImageStore
  /** The most bytes an image may have. */
  limit: number
  accept: Accept
}

export function createImages(deps: ImagesDeps): Images {
  const store = deps.store
  const limit = Math.floor(deps.limits.imageBytes)
  const intake: PhotoIntake = { deps, store, limit, accept: accepting(store, deps.onOwned) }
  const uploads = createUploads(deps, limit, intake.accept)
  return {
    async handle(req, res, url) {
      if (url.pathname === UPLOAD_PATH || url.pathname.startsWith(UPLOAD_PATH + '/')) return uploads.handle(req, res)
      const sha256 = url.pathname.slice(IMAGE_PATH.length)
      if (req.method === 'PUT') return putImage(intake, req, res, url, sha256)
      if (req.method === 'GET' || req.method === 'HEAD') return getImage(intake, req, res, url, sha256)
      res.setHeader('allow', 'GET, HEAD, PUT')
      throw new HttpError(405, 'method not allowed')
    },
    close: () => uploads.close(),
  }
}

/** Hash checked, decodability checked, file placed, ownership recorded: PUT and tus alike. */
function accepting(store: ImageStore, onOwned: ImagesDeps['onOwned']): Accept {
  return async (file, claimed, actual, bytes, owner) => {
    if (actual !== claimed) throw new HttpError(400, `the body's sha256 is ${actual}, not ${claimed}`)
    const existing = await store.get(claimed)
    if (existing) {
      // Identical bytes were verified when first stored; holding them is what makes an owner.
      // adopt() puts them back if they were lost since (a file gone from --images DIR), else drops them.
      await store.adopt(file, claimed)
      await store.addOwner(claimed, owner)
      onOwned?.(claimed, owner)
      return { image: existing, created: false }
    }
    const meta = await probeImage(file, bytes)
    await store.adopt(file, claimed)
    const created = await store.record(claimed, meta, owner)
    onOwned?.(claimed, owner)
    return { image: (await store.get(claimed))!, created }
  }
}

async function putImage(intake: PhotoIntake, req: IncomingMessage, res: ServerResponse, url: URL, claimed: string): Promise<void> {
  const { store, limit } = intake
  const userId = customer(intake.deps.auth.fromRequest(req, url)?.principal)
  if (!SHA256_HEX.test(claimed)) throw new HttpError(400, 'the URL must end in the image\'s sha256, 64 lowercase hex digits')
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    res.setHeader('connection', 'close') // do not read a body we refuse
    throw new HttpError(413, `an image may have at most ${limit} bytes`)
  }
  const temp = store.incomingPath()
  try {
    const file = await open(temp, 'wx')
    let received: { sha256: string; bytes: number }
    try {
      received = await receiveBody(req, file, limit)
      await file.sync()
    } finally {
      await file.close()
    }
    const { image, created } = await intake.accept(temp, claimed, received.sha256, received.bytes, userId)
    sendJson(res, created ? 201 : 200, describe(image))
  } catch (error) {
    const refusal = isStorageFull(error) ? storageFull(507, error) : error
    // Do not read the rest of a body we refuse.
    if (refusal instanceof HttpError && (refusal.status === 413 || refusal.status === 507)) res.setHeader('connection', 'close')
    throw refusal
  } finally {
    await rm(temp, { force: true }) // gone already when accepted
  }
}

async function getImage(intake: PhotoIntake, req: IncomingMessage, res: ServerResponse, url: URL, sha256: string): Promise<void> {
  const { store } = intake
  const session = intake.deps.auth.fromRequest(req, url)
  if (!session) throw new HttpError(401, 'not signed in')
  // Unknown and forbidden answer alike, so nobody can probe for the hashes of others' photos.
  const image = SHA256_HEX.test(sha256) ? await store.get(sha256) : null
  if (!image || !await mayRead(intake, session.principal, sha256)) throw new HttpError(404, 'no such image')
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
  // Only now, for a reader with the right to it: a relay that did not receive the photo fetches
  // its copy. Opened before any header, so a failure is still an error answer.
  const file = await openServed(store, sha256)
  res.writeHead(200, { ...headers, 'content-length': image.bytes })
  if (req.method === 'HEAD') {
    await file.close()
    return void res.end()
  }
  // A client that goes away mid-image is no error of ours.
  await pipeline(file.createReadStream(), res).catch(() => res.destroy())
}

/**
 * Opens the photo's file. A cluster relay's copy may be evicted from its cache (image-cache.ts)
 * between localPath() and the open: then it is fetched again, once. Once open, eviction cannot
 * touch what is read.
 */
async function openServed(store: ImageStore, sha256: string): Promise<FileHandle> {
  try {
    return await open(await servedFile(store, sha256), 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return open(await servedFile(store, sha256), 'r')
  }
}

/** Seconds a reader waits before asking again for a recorded photo whose bytes are missing. */
export const MISSING_PHOTO_RETRY_SECONDS = 60

/**
 * The file to serve. A recorded photo whose bytes are missing (a shared --images directory
 * restored from an older backup than the database, or not mounted) is a 503 to retry later,
 * logged with its hash: a lab node waits for it instead of failing the order, and the photo is
 * served again, its row untouched, once an operator puts the file back.
 */
async function servedFile(store: ImageStore, sha256: string): Promise<string> {
  try {
    return await store.localPath(sha256)
  } catch (error) {
    if (!(error instanceof ImageMissingError)) throw error
    console.error(`relay: photo ${sha256} is recorded but cannot be served: ${error.message}`)
    throw new HttpError(503, 'this photo cannot be served right now; try again later', MISSING_PHOTO_RETRY_SECONDS)
  }
}

async function mayRead(intake: PhotoIntake, who: Principal, sha256: string): Promise<boolean> {
  switch (who.kind) {
    case 'admin': return true
    case 'user': return intake.store.isOwner(sha256, who.userId)
    case 'lab': return intake.deps.labMayRead?.(who.labId, sha256) ?? false
  }
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
      // `writing` is the write itself, so a failure reaches finish(null) too when the body ended
      // meanwhile (a full disk answered 400 "not an image" when the rejection was swallowed here).
      writing = writeAll(file, chunk)
      writing.then(() => { if (!settled) req.resume() }, (error: Error) => finish(error))
    }
    const onEnd = () => finish(null)
    const onClose = () => { if (!req.complete) finish(new HttpError(400, 'the upload was interrupted')) }
    const onError = (error: Error) => finish(error)
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onError)
    // A client that left while the file was being opened has already closed: no event will come.
    if (req.destroyed) finish(new HttpError(400, 'the upload was interrupted'))
  })
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) offset += (await file.write(chunk, offset)).bytesWritten
}
