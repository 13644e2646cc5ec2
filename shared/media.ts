// PWG 5101.1 self-describing media size names (`na_index-4x6_4x6in`, `iso_a4_210x297mm`) read as
// exact sizes, so a print is the paper's size at the printer's resolution with one rounding only.

/** The units a self-describing name may end in. */
export type MediaUnit = 'in' | 'mm'

/** An exact length: `num / den` of `unit` (a decimal such as 3.5 in is 35/10 in). */
export interface Length { num: number; den: number; unit: MediaUnit }

/** A parsed name: class (`na`, `iso`, `oe`, …), size name, and width and height as written. */
export interface MediaSize { name: string; mediaClass: string; sizeName: string; width: Length; height: Length }

/** A media name that is not a PWG 5101.1 self-describing size, with what is wrong with it. */
export class MediaNameError extends Error {
  override name = 'MediaNameError'
  constructor(readonly media: string, readonly problem: string) {
    super(`media "${media}" is not a PWG 5101.1 self-describing size name (<class>_<name>_<w>x<h>in|mm, e.g. na_index-4x6_4x6in): ${problem}`)
  }
}

/** PWG 5101.1 section 5: which classes measure in inches and which in millimetres. */
const CLASSES: Record<MediaUnit, readonly string[]> = {
  in: ['na', 'asme', 'roc', 'oe', 'custom', 'roll'],
  mm: ['iso', 'jis', 'jpn', 'prc', 'om', 'custom', 'roll'],
}
// At most 5 integer and 4 fraction digits: every product below stays an exact integer in a double.
const DIMENSION = '(\\d{1,5}(?:\\.\\d{1,4})?)'
const SHAPE = new RegExp(`^([a-z]+)_([a-z0-9][a-z0-9-]*)_${DIMENSION}x${DIMENSION}(in|mm)$`)
const MM_PER_INCH_TIMES_10 = 254

/** Reads a self-describing name; throws MediaNameError naming the problem when it is not one. */
export function parse(name: string): MediaSize {
  if (typeof name !== 'string' || name === '') throw new MediaNameError(String(name), 'it is empty')
  const match = SHAPE.exec(name)
  if (!match) throw new MediaNameError(name, 'it does not have that shape')
  const [, mediaClass, sizeName, w, h, unitText] = match
  const unit = unitText as MediaUnit
  if (!CLASSES[unit].includes(mediaClass)) {
    const other = unit === 'in' ? 'mm' : 'in'
    const hint = CLASSES[other].includes(mediaClass) ? `class ${mediaClass} measures in ${other}` : `unknown class ${mediaClass}`
    throw new MediaNameError(name, `${hint}; ${unit} sizes take ${CLASSES[unit].join(', ')}`)
  }
  const width = decimal(w, unit)
  const height = decimal(h, unit)
  if (width.num === 0 || height.num === 0) throw new MediaNameError(name, 'a side is zero')
  return { name, mediaClass, sizeName, width, height }
}

/** True when `name` parses; for checks that only need a yes or no. */
export function isSelfDescribing(name: string): boolean {
  try {
    parse(name)
    return true
  } catch (error) {
    if (error instanceof MediaNameError) return false
    throw error
  }
}

/** `3.5` → 35/10, kept as integers so nothing is lost before the last step. */
function decimal(text: string, unit: MediaUnit): Length {
  const [whole, fraction = ''] = text.split('.')
  return { num: Number(whole + fraction), den: 10 ** fraction.length, unit }
}

/** The length in inches (25.4 mm exactly), as near as a double holds it: one division. */
export function inches(length: Length): number {
  return length.unit === 'in' ? length.num / length.den : (length.num * 10) / (length.den * MM_PER_INCH_TIMES_10)
}

/** The length in millimetres, as near as a double holds it: one division. */
export function millimetres(length: Length): number {
  return length.unit === 'mm' ? length.num / length.den : (length.num * MM_PER_INCH_TIMES_10) / (length.den * 10)
}

/** The length in pixels at `dpi`: computed exactly as a fraction, rounded once (halves up). */
export function pixels(length: Length, dpi: number): number {
  if (!Number.isInteger(dpi) || dpi <= 0) throw new RangeError(`dpi must be a positive whole number, not ${dpi}`)
  // px = num/den in × dpi, or num/den mm × dpi × 10/254.
  let p = BigInt(length.num) * BigInt(dpi)
  let q = BigInt(length.den)
  if (length.unit === 'mm') {
    p *= 10n
    q *= BigInt(MM_PER_INCH_TIMES_10)
  }
  return Number((2n * p + q) / (2n * q))
}

/** The media's size in pixels at `dpi`, width and height as the name writes them. */
export function pixelSize(size: MediaSize, dpi: number): { widthPx: number; heightPx: number } {
  return { widthPx: pixels(size.width, dpi), heightPx: pixels(size.height, dpi) }
}
