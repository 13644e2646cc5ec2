// Content-addressed photos, as an interface: what the photo intake, the relay and the lab
// node's in-store server need of wherever photos are kept.

/** The formats the relay accepts and the content type each one is served with. */
export const IMAGE_TYPES = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  heif: 'image/heif',
  avif: 'image/avif',
  tiff: 'image/tiff',
} as const

export type ImageFormat = keyof typeof IMAGE_TYPES

export interface ImageMeta {
  bytes: number
  /** As displayed, after EXIF orientation. */
  width: number
  height: number
  format: ImageFormat
}

export interface StoredImage extends ImageMeta {
  sha256: string
  createdAt: string
}

export const SHA256_HEX = /^[0-9a-f]{64}$/

export const isImageFormat = (format: string | undefined): format is ImageFormat =>
  format !== undefined && Object.hasOwn(IMAGE_TYPES, format)


/** localPath() was asked for an image whose bytes this store does not hold anywhere. */
export class ImageMissingError extends Error {}

/**
 * Photos by content hash and the customers who own each one (they proved they hold its bytes).
 * Files arrive in `incomingDir`, are verified by the caller, then adopted and recorded. What is
 * recorded survives a restart (a new store on the same storage) [IS8]. Every implementation
 * passes tests/conformance/image-store.ts, whose rule ids are given here in [].
 *
 * What asks the database is asynchronous, so a store may keep its rows on another machine
 * (PostgreSQL) without holding up the event loop; the embedded stores answer at once, in
 * resolved promises. The file names are synchronous: they are computed, never looked up.
 */
export interface ImageStore {
  /**
   * Where files are written before they are complete; adopt() moves them from here atomically.
   * Emptied when a store opens: what a crash left there is garbage [IS9].
   */
  readonly incomingDir: string
  /**
   * Where this machine keeps the image's file, whether or not it is there yet: localPath() is what
   * a reader awaits. Throws unless given a sha256 hex digest [IS6].
   */
  path(sha256: string): string
  /**
   * path(sha256) once the whole file is there: a store whose bytes live elsewhere (PostgreSQL)
   * fetches this machine's copy first [IS5, IS8]. Rejects with ImageMissingError when the store
   * holds no bytes of it, and like path() for anything but a sha256 hex digest [IS6].
   */
  localPath(sha256: string): Promise<string>
  /** A fresh name in incomingDir for a file being received [IS7]. */
  incomingPath(): string
  /** Whether the image is recorded [IS1, IS2]. */
  has(sha256: string): Promise<boolean>
  /** What record() was first told of the image, and when [IS1, IS3]; null when never recorded [IS2]. */
  get(sha256: string): Promise<StoredImage | null>
  /** Whether `userId` was made an owner by record() or addOwner() [IS3, IS4]. */
  isOwner(sha256: string, userId: string): Promise<boolean>
  /** Makes `userId` an owner of a stored image, durably once the promise resolves [IS4]. */
  addOwner(sha256: string, userId: string): Promise<void>
  /**
   * Moves a complete, verified file to path(sha256) durably: after a crash the image path holds
   * either nothing or the whole file. `file` is gone afterwards [IS5]. Called before record().
   */
  adopt(file: string, sha256: string): Promise<void>
  /**
   * Records an image adopt() placed, and its owner, atomically and durably once the promise
   * resolves. True when the image is new; false when it was recorded before, whose description
   * stays as it was: the owner is added anyway [IS3]. Rejects for anything but a sha256 hex digest [IS6].
   */
  record(sha256: string, meta: ImageMeta, ownerUserId: string): Promise<boolean>
}
