// The geometry of an item's `crop` (SPEC.md "Document shapes"): which pixels of the photo make the
// print, as the customer's preview shows them and the lab renders them. Pure; runs in the browser.
import type { Crop } from './schema.ts'

export type { Crop }

/** A rectangle in pixels: of the photo (what to print) or of the print (where the photo sits). */
export interface Rect { left: number; top: number; width: number; height: number }

/** The crop as stored: fractions 0–1 of the photo's width and height. */
export interface CropBox { x: number; y: number; w: number; h: number }

/** A stored `crop` value this module understands; anything else reads as no crop (centred fill). */
export function isCrop(value: unknown): value is Crop {
  if (value === 'fit') return true
  if (!value || typeof value !== 'object') return false
  const { x, y, w, h } = value as Record<string, unknown>
  const fraction = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1
  return fraction(x) && fraction(y) && fraction(w) && fraction(h) && (w as number) > 0 && (h as number) > 0
    && (x as number) + (w as number) <= 1 + 1e-9 && (y as number) + (h as number) <= 1 + 1e-9
}

/**
 * The print's width and height turned the way the photo is: the lab prints a landscape photo on
 * landscape paper (lab-node/render.ts); a square photo keeps the product's own orientation.
 */
export function orientPrint(imageW: number, imageH: number, printW: number, printH: number): { width: number; height: number } {
  const long = Math.max(printW, printH)
  const short = Math.min(printW, printH)
  const landscape = imageW === imageH ? printW > printH : imageW > imageH
  return landscape ? { width: long, height: short } : { width: short, height: long }
}

const clamp = (n: number, low: number, high: number) => Math.min(high, Math.max(low, n))

/**
 * A rectangle of the print's aspect `aspect` (width / height) about `wantH` pixels high that fits
 * in a `imageW`×`imageH` photo. One side is rounded from the other, so the aspect is right to a pixel.
 */
function sized(imageW: number, imageH: number, aspect: number, wantH: number): { width: number; height: number } {
  let height = clamp(Math.round(wantH), 1, imageH)
  let width = Math.round(height * aspect)
  if (width > imageW) {
    width = imageW
    height = clamp(Math.round(width / aspect), 1, imageH)
  }
  return { width: Math.max(1, width), height }
}

/**
 * The part of the photo (in its pixels, upright) that makes the print of `printW`×`printH` (any
 * unit; turned like the photo):
 * - no crop: the largest rectangle of the print's aspect, centred (the lab's default fill);
 * - a crop box: that box, held to the print's aspect (same area, same centre) and inside the photo;
 * - "fit": the whole photo (the print shows it on white bands; see `fitPlacement`).
 */
export function cropRect(imageW: number, imageH: number, printW: number, printH: number, crop?: Crop | null): Rect {
  if (crop === 'fit') return { left: 0, top: 0, width: imageW, height: imageH }
  const print = orientPrint(imageW, imageH, printW, printH)
  const aspect = print.width / print.height
  const fill = Math.min(imageH, imageW / aspect)
  if (!crop || !isCrop(crop)) {
    const { width, height } = sized(imageW, imageH, aspect, fill)
    return { left: Math.round((imageW - width) / 2), top: Math.round((imageH - height) / 2), width, height }
  }
  const wantH = Math.min(fill, Math.sqrt((crop.w * imageW * crop.h * imageH) / aspect))
  const { width, height } = sized(imageW, imageH, aspect, wantH)
  const centreX = (crop.x + crop.w / 2) * imageW
  const centreY = (crop.y + crop.h / 2) * imageH
  return {
    left: clamp(Math.round(centreX - width / 2), 0, imageW - width),
    top: clamp(Math.round(centreY - height / 2), 0, imageH - height),
    width,
    height,
  }
}

/** Where the whole photo sits on a `canvasW`×`canvasH` print for "fit": as large as it goes, centred; the rest is white. */
export function fitPlacement(imageW: number, imageH: number, canvasW: number, canvasH: number): Rect {
  const scale = Math.min(canvasW / imageW, canvasH / imageH)
  const width = clamp(Math.round(imageW * scale), 1, canvasW)
  const height = clamp(Math.round(imageH * scale), 1, canvasH)
  return { left: Math.floor((canvasW - width) / 2), top: Math.floor((canvasH - height) / 2), width, height }
}

/** A rectangle of the photo as the fractions the order stores. */
export function toCropBox(rect: Rect, imageW: number, imageH: number): CropBox {
  // Six decimals are plenty (a pixel of a 100 MP photo); x + w must stay within 1, as the relay checks.
  const floor = (n: number) => Math.floor(n * 1e6) / 1e6
  const round = (n: number) => Math.round(n * 1e6) / 1e6
  const x = floor(rect.left / imageW)
  const y = floor(rect.top / imageH)
  return { x, y, w: Math.min(round(rect.width / imageW), 1 - x), h: Math.min(round(rect.height / imageH), 1 - y) }
}

/** The crop moved by `dx`, `dy` photo pixels, kept inside the photo. */
export function moveCrop(imageW: number, imageH: number, printW: number, printH: number, crop: Crop | undefined, dx: number, dy: number): CropBox {
  const rect = cropRect(imageW, imageH, printW, printH, crop === 'fit' ? undefined : crop)
  return toCropBox({
    ...rect,
    left: clamp(rect.left + dx, 0, imageW - rect.width),
    top: clamp(rect.top + dy, 0, imageH - rect.height),
  }, imageW, imageH)
}

/**
 * The crop zoomed by `factor` about its centre (2 shows half as much of the photo), never larger
 * than the fill nor smaller than a tenth of it.
 */
export function zoomCrop(imageW: number, imageH: number, printW: number, printH: number, crop: Crop | undefined, factor: number): CropBox {
  const rect = cropRect(imageW, imageH, printW, printH, crop === 'fit' ? undefined : crop)
  const fill = cropRect(imageW, imageH, printW, printH)
  const width = clamp(rect.width / factor, fill.width / 10, fill.width)
  const height = width * (fill.height / fill.width)
  const centreX = rect.left + rect.width / 2
  const centreY = rect.top + rect.height / 2
  const left = clamp(centreX - width / 2, 0, imageW - width)
  const top = clamp(centreY - height / 2, 0, imageH - height)
  return toCropBox({ left, top, width, height }, imageW, imageH)
}

/** The white border template's margin on every side, as a share of the print's short side (lab-node/render.ts). */
export const WHITE_BORDER_SHARE = 0.03

/**
 * The part of the print the photo covers, in the print's units: all of it, or inside the white
 * border. The crop has this area's aspect, so preview and lab pass it to `cropRect` alike.
 */
export function photoArea(printW: number, printH: number, template: string | undefined): { width: number; height: number } {
  if (template !== 'white-border') return { width: printW, height: printH }
  const border = WHITE_BORDER_SHARE * Math.min(printW, printH)
  return { width: printW - 2 * border, height: printH - 2 * border }
}
