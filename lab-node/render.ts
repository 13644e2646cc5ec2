// Print files: one JPEG per order item, cropped to fill the product's media at the printer's
// resolution, with the lab's template applied and the order record attached as XMP and EXIF metadata.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import type { Metadata, OutputInfo, Sharp, SharpOptions } from 'sharp'
import * as media from '../shared/media.ts'
import { cropRect, type Crop } from '../shared/crop.ts'

/** The order record every print file carries (SPEC "Print files"). */
export interface PrintRecord {
  order: string
  /** The receipt's short order number, when the relay gave one. */
  number?: string
  user: string
  /** The relay's reception time, ISO 8601. */
  receivedAt: string
  front: string
  lab: string
  /** The item's index in the order. */
  item: number
}

export interface RenderInput {
  image: Buffer
  /** The print's size: the PWG self-describing `media` when given, else the rounded millimetres. */
  product: { widthMm: number; heightMm: number; media?: string }
  dpi: number
  /** `plain`, `white-border`, or the id of a full-size frame `<templatesDir>/<id>.png`. */
  template: string
  /** The item's crop (SPEC: a box of the photo, or "fit"); without one, the centred fill. */
  crop?: Crop
  templatesDir?: string
  record: PrintRecord
  /** Photos with more pixels are refused as decompression bombs; default 200 MP. */
  maxInputPixels?: number
}

export interface RenderedPrint { jpeg: Buffer; widthPx: number; heightPx: number }

/** Why a print could not be rendered: the photo's fault or the lab's templates'. */
export type RenderFailure = 'broken-image' | 'too-large' | 'unknown-template' | 'broken-template' | 'bad-media'

export class RenderError extends Error {
  override name = 'RenderError'
  constructor(readonly reason: RenderFailure, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export const BUILT_IN_TEMPLATES: readonly string[] = ['plain', 'white-border']
export const XMP_NAMESPACE = 'https://labsync.example/ns/1.0/'

/** Above the largest camera sensors (about 100 MP), far below what a crafted header can claim. */
const DEFAULT_MAX_INPUT_PIXELS = 200_000_000
const JPEG_QUALITY = 92
const BORDER_SHARE = 0.03
const TEMPLATE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/

/**
 * The print's size in pixels with its short side first. From the media's exact size when the
 * product names one (4x6 in at 300 dpi is 1200x1800): the catalog's millimetres are rounded
 * (102x152 mm would make 1205x1795). Without media, round(mm / 25.4 * dpi) each.
 */
export function printSizePx(product: RenderInput['product'], dpi: number): { shortPx: number; longPx: number } {
  let a: number
  let b: number
  if (product.media !== undefined) {
    let size: media.MediaSize
    try {
      size = media.parse(product.media)
    } catch (error) {
      if (error instanceof media.MediaNameError) throw new RenderError('bad-media', error.message, { cause: error })
      throw error
    }
    ;({ widthPx: a, heightPx: b } = media.pixelSize(size, dpi))
  } else {
    a = Math.round((product.widthMm / 25.4) * dpi)
    b = Math.round((product.heightMm / 25.4) * dpi)
  }
  return { shortPx: Math.min(a, b), longPx: Math.max(a, b) }
}

export async function renderPrint(input: RenderInput): Promise<RenderedPrint> {
  const { product, dpi, record } = input
  if (!(Number.isInteger(dpi) && dpi >= 50 && dpi <= 4800)) throw new RangeError(`dpi must be a whole number between 50 and 4800, not ${dpi}`)
  if (!(product.widthMm > 0 && product.heightMm > 0)) throw new RangeError(`product size must be positive, not ${product.widthMm}x${product.heightMm} mm`)
  const maxPixels = input.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS
  const options: SharpOptions = { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true }

  const photo = await orientedSize(input.image, options, maxPixels)
  const { shortPx, longPx } = printSizePx(product, dpi)
  // The print takes the photo's orientation; a square photo keeps the product's.
  const landscape = photo.width === photo.height ? product.widthMm > product.heightMm : photo.width > photo.height
  const widthPx = landscape ? longPx : shortPx
  const heightPx = landscape ? shortPx : longPx
  const template = await loadTemplate(input.template, input.templatesDir, widthPx, heightPx)

  const pipeline = sharp(input.image, options).flatten({ background: '#ffffff' }) // transparency prints as paper
  const border = template.kind === 'border' ? Math.round(BORDER_SHARE * Math.min(widthPx, heightPx)) : 0
  placePhoto(pipeline, photo, widthPx - 2 * border, heightPx - 2 * border, input.crop)
  if (border > 0) pipeline.extend({ top: border, bottom: border, left: border, right: border, background: '#ffffff' })
  if (template.kind === 'frame') pipeline.composite([{ input: template.png }])
  pipeline
    .withIccProfile('srgb')
    .withDensity(dpi)
    // withExif, not withExifMerge: the camera's EXIF (GPS position, serial numbers) stays with the customer.
    .withExif({ IFD0: { ImageDescription: imageDescription(record) } })
    .withXmp(xmpPacket(record))
    .jpeg({ quality: JPEG_QUALITY })

  let out: { data: Buffer; info: OutputInfo }
  try {
    out = await pipeline.toBuffer({ resolveWithObject: true })
  } catch (error) {
    throw imageError(error)
  }
  if (out.info.width !== widthPx || out.info.height !== heightPx) {
    throw new Error(`rendered ${out.info.width}x${out.info.height} px instead of ${widthPx}x${heightPx}`)
  }
  return { jpeg: withJfifDensity(out.data, dpi), widthPx, heightPx }
}

/**
 * Fills a `width`×`height` area with the part of the photo the customer chose, as their preview
 * showed it (shared/crop.ts): the centred fill by default, their crop box, or with "fit" the whole
 * photo on white bands. The box is already the area's aspect to a pixel; 'cover' absorbs that pixel.
 */
function placePhoto(pipeline: Sharp, photo: { width: number; height: number }, width: number, height: number, crop: Crop | undefined): void {
  if (crop === 'fit') {
    pipeline.resize(width, height, { fit: 'contain', background: '#ffffff' })
    return
  }
  const part = cropRect(photo.width, photo.height, width, height, crop)
  pipeline
    .extract({ left: part.left, top: part.top, width: part.width, height: part.height })
    .resize(width, height, { fit: 'cover', position: 'centre' })
}

/**
 * The JPEG with a JFIF APP0 segment giving `dpi` dots per inch. libvips (mozjpeg, as sharp ships
 * it) writes the density only into EXIF and leaves JFIF out; some minilab and RIP software reads
 * only JFIF, and a JFIF without units is taken as 72 dpi. An APP0 already first is rewritten in place.
 */
export function withJfifDensity(jpeg: Buffer, dpi: number): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG: no SOI marker')
  const app0 = Buffer.from([
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, // APP0, length 16, "JFIF\0"
    0x01, 0x02, // version 1.02
    0x01, // density units: dots per inch
    dpi >> 8, dpi & 0xff, dpi >> 8, dpi & 0xff, // X and Y density
    0x00, 0x00, // no thumbnail
  ])
  const hasJfif = jpeg[2] === 0xff && jpeg[3] === 0xe0 && jpeg.subarray(6, 11).equals(app0.subarray(4, 9))
  if (hasJfif) {
    const out = Buffer.from(jpeg)
    app0.copy(out, 13, 11, 16) // units and densities; the version and any thumbnail stay
    return out
  }
  return Buffer.concat([jpeg.subarray(0, 2), app0, jpeg.subarray(2)])
}

/** The photo's size once turned upright by its EXIF orientation; refuses bombs before decoding. */
async function orientedSize(image: Buffer, options: SharpOptions, maxPixels: number): Promise<{ width: number; height: number }> {
  let meta: Metadata
  try {
    meta = await sharp(image, options).metadata()
  } catch (error) {
    throw imageError(error)
  }
  const { width, height } = meta.autoOrient ?? meta
  if (!width || !height) throw new RenderError('broken-image', 'the photo cannot be read: it has no size')
  if (width * height > maxPixels) {
    throw new RenderError('too-large', `the photo is ${width}x${height} px, over the limit of ${maxPixels} pixels (a decompression bomb?)`)
  }
  return { width, height }
}

type Template = { kind: 'plain' } | { kind: 'border' } | { kind: 'frame'; png: Buffer }

/** A frame PNG with alpha, stretched to the print (turned first if drawn the other way round). */
async function loadTemplate(id: string, templatesDir: string | undefined, widthPx: number, heightPx: number): Promise<Template> {
  if (id === 'plain') return { kind: 'plain' }
  if (id === 'white-border') return { kind: 'border' }
  const unknown = (why: string) => new RenderError('unknown-template', `unknown template "${id}": not ${BUILT_IN_TEMPLATES.join(' or ')}, ${why}`)
  // The id comes from a customer's order: never let it name a path outside templatesDir.
  if (!TEMPLATE_ID.test(id)) throw unknown('and not a valid template id')
  if (!templatesDir) throw unknown('and this lab has no templates folder')
  const path = join(templatesDir, `${id}.png`)
  let file: Buffer
  try {
    file = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw unknown(`and there is no ${path}`)
    throw error
  }
  try {
    const frame = sharp(file, { failOn: 'error', limitInputPixels: DEFAULT_MAX_INPUT_PIXELS })
    const meta = await frame.metadata()
    if (meta.format !== 'png' || !meta.hasAlpha) {
      throw new RenderError('broken-template', `template ${path} must be a PNG with an alpha channel (it is ${meta.format}${meta.hasAlpha ? '' : ' without alpha'})`)
    }
    if (meta.width !== meta.height && (meta.width! > meta.height!) !== (widthPx > heightPx)) frame.rotate(90)
    return { kind: 'frame', png: await frame.resize(widthPx, heightPx, { fit: 'fill' }).png().toBuffer() }
  } catch (error) {
    if (error instanceof RenderError) throw error
    throw new RenderError('broken-template', `template ${path} cannot be read: ${firstLine(error)}`, { cause: error })
  }
}

function imageError(error: unknown): RenderError {
  const message = firstLine(error)
  if (/exceeds pixel limit/i.test(message)) {
    return new RenderError('too-large', `the photo is over the pixel limit (a decompression bomb?): ${message}`, { cause: error })
  }
  return new RenderError('broken-image', `the photo cannot be read: ${message}`, { cause: error })
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]

/** The order record as an XMP packet in labsync's own namespace. */
export function xmpPacket(record: PrintRecord): string {
  const fields = (['order', 'number', 'user', 'receivedAt', 'front', 'lab', 'item'] as const)
    .filter((key) => record[key] !== undefined)
    .map((key) => `   <labsync:${key}>${escapeXml(String(record[key]))}</labsync:${key}>`)
    .join('\n')
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    `  <rdf:Description rdf:about="" xmlns:labsync="${XMP_NAMESPACE}">`,
    fields,
    '  </rdf:Description>',
    ' </rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('\n')
}

/** `labsync order=… user=… …` in printable ASCII (EXIF's type); other bytes, `=` and `%` are %-escaped. */
export function imageDescription(record: PrintRecord): string {
  const escape = (value: string) =>
    value.replace(/[^\x21-\x7e]|[=%]/gu, (ch) => [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''))
  const { order, number, user, receivedAt, front, lab, item } = record
  const fields = number === undefined ? { order, user, receivedAt, front, lab, item } : { order, number, user, receivedAt, front, lab, item }
  return `labsync ${Object.entries(fields).map(([k, v]) => `${k}=${escape(String(v))}`).join(' ')}`
}

/** Escapes markup, and replaces the control characters XML 1.0 cannot hold at all. */
function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '\uFFFD')
}
