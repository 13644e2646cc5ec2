// Turns a picked file into a stored photo on the device: its sha256 (the name the relay knows it
// by), its pixel size after EXIF rotation, and a thumbnail, all without the network.
import type { StoredPhoto } from './photo-store.ts'

const THUMB_PX = 360

/** A file this device cannot read as an image (HEIC on most browsers, a PDF, a broken JPEG). */
export class UnreadablePhotoError extends Error {
  override name = 'UnreadablePhotoError'
}

export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  let digest: Uint8Array
  if (globalThis.crypto?.subtle) {
    digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  } else {
    // Web Crypto exists only on secure origins; a relay reached over plain http on a LAN is not one.
    const sha256 = await import('lib0/hash/sha256')
    digest = sha256.digest(new Uint8Array(bytes))
  }
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A JPEG thumbnail of at most `size` pixels along its long side. */
export async function thumbnail(bitmap: ImageBitmap, size = THUMB_PX): Promise<Blob> {
  const scale = Math.min(1, size / Math.max(bitmap.width, bitmap.height))
  const width = Math.max(1, Math.round(bitmap.width * scale))
  const height = Math.max(1, Math.round(bitmap.height * scale))
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(width, height)
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, width, height)
    return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.82 })
  }
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, width, height)
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new UnreadablePhotoError('thumbnail failed'))), 'image/jpeg', 0.82))
}

/** HEIC/HEIF (iPhone photos), by type or, where the browser gives none, by name. */
export function isHeic(file: { name: string; type: string }): boolean {
  return /^image\/hei[cf](-sequence)?$/i.test(file.type) || /\.(heic|heif)$/i.test(file.name)
}

/**
 * Why a HEIC photo cannot be added here, and what to do. Converting on the device would take a
 * libheif build of well over a megabyte (no small, well-kept library does it), so the app explains.
 */
export const heicAdvice = (name: string): string =>
  `${name} is a HEIC photo (the iPhone's own format), which this browser cannot open. ` +
  'Add it as a JPEG instead: on an iPhone, pick it from Photos with this app in Safari (it converts it), ' +
  'or set Settings › Camera › Formats to "Most Compatible".'

async function decode(blob: Blob, name: string, heic = false): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(blob, { imageOrientation: 'from-image' })
  } catch {
    throw new UnreadablePhotoError(heic ? heicAdvice(name) : `${name} cannot be read as a photo on this device.`)
  }
}

export async function preparePhoto(file: File, now: () => Date = () => new Date()): Promise<StoredPhoto> {
  if (file.type && !file.type.startsWith('image/')) throw new UnreadablePhotoError(`${file.name} is not a photo.`)
  const bytes = await file.arrayBuffer()
  // Safari decodes HEIC itself; elsewhere the decode fails and the customer is told why.
  const bitmap = await decode(file, file.name, isHeic(file))
  try {
    return {
      sha256: await sha256Hex(bytes),
      name: file.name,
      type: file.type || 'image/jpeg',
      bytes: bytes.byteLength,
      width: bitmap.width,
      height: bitmap.height,
      thumb: await thumbnail(bitmap),
      original: file,
      uploaded: false,
      addedAt: now().toISOString(),
    }
  } finally {
    bitmap.close()
  }
}

/** A thumbnail for a photo this device does not have, from the copy at the relay. */
export async function thumbnailFromRelay(url: string, token: string): Promise<Blob | null> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).catch(() => null)
  if (!res?.ok) return null
  const bitmap = await decode(await res.blob(), 'photo')
  try {
    return await thumbnail(bitmap)
  } finally {
    bitmap.close()
  }
}
