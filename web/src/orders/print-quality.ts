// Whether a photo has enough pixels for its print size. The lab fills the print and crops the rest
// (lab-node/render.ts, fit: cover), so the side with fewer pixels per millimetre sets the quality.
import type { Product } from '../../../shared/schema.ts'

/** Below this, prints look soft at arm's length. */
export const MIN_DPI = 150

/** The resolution the photo prints at on `product`, in dots per inch, whichever way round it is. */
export function printDpi(photo: { width: number; height: number }, product: Pick<Product, 'widthMm' | 'heightMm'>): number {
  const longPx = Math.max(photo.width, photo.height)
  const shortPx = Math.min(photo.width, photo.height)
  const longIn = Math.max(product.widthMm, product.heightMm) / 25.4
  const shortIn = Math.min(product.widthMm, product.heightMm) / 25.4
  return Math.floor(Math.min(longPx / longIn, shortPx / shortIn))
}

export function isTooSmall(photo: { width: number; height: number }, product: Pick<Product, 'widthMm' | 'heightMm'>): boolean {
  return printDpi(photo, product) < MIN_DPI
}
