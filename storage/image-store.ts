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


/**
 * Photos by content hash and the customers who own each one (they proved they hold its bytes).
 * Files arrive in `incomingDir`, are verified by the caller, then adopted and recorded. What is
 * recorded survives a restart (a new store on the same storage) [IS8]. Every implementation
 * passes tests/conformance/image-store.ts, whose rule ids are given here in [].
 */
export interface ImageStore {
  /**
   * Where files are written before they are complete; adopt() moves them from here atomically.
   * Emptied when a store opens: what a crash left there is garbage [IS9].
   */
  readonly incomingDir: string
  /** The file of an image, whether or not it is stored yet. Throws unless given a sha256 hex digest [IS6]. */
  path(sha256: string): string
  /** A fresh name in incomingDir for a file being received [IS7]. */
  incomingPath(): string
  /** Whether the image is recorded [IS1, IS2]. */
  has(sha256: string): boolean
  /** What record() was first told of the image, and when [IS1, IS3]; null when never recorded [IS2]. */
  get(sha256: string): StoredImage | null
  /** Whether `userId` was made an owner by record() or addOwner() [IS3, IS4]. */
  isOwner(sha256: string, userId: string): boolean
  /** Makes `userId` an owner of a stored image [IS4]. */
  addOwner(sha256: string, userId: string): void
  /**
   * Moves a complete, verified file to path(sha256) durably: after a crash the image path holds
   * either nothing or the whole file. `file` is gone afterwards [IS5]. Called before record().
   */
  adopt(file: string, sha256: string): Promise<void>
  /**
   * Records an image adopt() placed, and its owner, atomically. True when the image is new; false
   * when it was recorded before, whose description stays as it was: the owner is added anyway [IS3].
   */
  record(sha256: string, meta: ImageMeta, ownerUserId: string): boolean
}
