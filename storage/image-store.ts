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
 * Files arrive in `incomingDir`, are verified by the caller, then adopted and recorded.
 */
export interface ImageStore {
  /** Where files are written before they are complete; adopt() moves them from here atomically. */
  readonly incomingDir: string
  /** The file of an image, whether or not it is stored yet. */
  path(sha256: string): string
  /** A fresh name in incomingDir for a file being received. */
  incomingPath(): string
  has(sha256: string): boolean
  get(sha256: string): StoredImage | null
  isOwner(sha256: string, userId: string): boolean
  /** Makes `userId` an owner of a stored image. */
  addOwner(sha256: string, userId: string): void
  /**
   * Moves a complete, verified file to its place durably: after a crash the image path holds
   * either nothing or the whole file. `file` is gone afterwards. Called before record().
   */
  adopt(file: string, sha256: string): Promise<void>
  /** Records an image adopt() placed, and its owner, atomically. True when the image is new. */
  record(sha256: string, meta: ImageMeta, ownerUserId: string): boolean
}
