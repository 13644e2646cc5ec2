// Print files from real JPEGs made with sharp: size at the printer's resolution (exact from the
// media name), orientation, templates, density and colour profile, the order record read back by
// exiftool and by hand, and photos that must be refused.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import { RenderError, renderPrint, withJfifDensity } from '../../lab-node/render.ts'
import type { PrintRecord, RenderInput } from '../../lab-node/render.ts'
import { rejection } from '../conformance/printer.ts'

const L = { widthMm: 89, heightMm: 127 }
const MEDIA = {
  L: { widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in' },
  '4x6': { widthMm: 102, heightMm: 152, media: 'na_index-4x6_4x6in' },
  '5x7': { widthMm: 127, heightMm: 178, media: 'na_5x7_5x7in' },
}
const RECORD: PrintRecord = { order: 'ord-7f3a', user: 'user-42', receivedAt: '2025-03-01T10:15:00.000Z', front: 'store-1', lab: 'lab-1', item: 2 }
const render = (image: Buffer, more: Partial<RenderInput> = {}) => renderPrint({ image, product: L, dpi: 300, template: 'plain', record: RECORD, ...more })

type Rgb = [number, number, number]
const solid = (width: number, height: number, hex: string) => sharp({ create: { width, height, channels: 3, background: hex } })

/** The colour of one pixel of a JPEG. */
async function pixel(jpeg: Buffer, x: number, y: number): Promise<Rgb> {
  const { data } = await sharp(jpeg).extract({ left: x, top: y, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true })
  return [data[0], data[1], data[2]]
}
const near = (actual: Rgb, expected: Rgb, slack = 40) => actual.every((c, i) => Math.abs(c - expected[i]) <= slack)
const WHITE: Rgb = [255, 255, 255]
const RED: Rgb = [255, 0, 0]
const BLUE: Rgb = [0, 0, 255]
const GREEN: Rgb = [0, 255, 0]

/** The JPEG's JFIF APP0 segment, which must come right after SOI (JFIF 1.02 section 4). */
function jfif(jpeg: Buffer): { version: string; units: number; xDensity: number; yDensity: number } | null {
  if (jpeg.readUInt16BE(0) !== 0xffd8 || jpeg.readUInt16BE(2) !== 0xffe0) return null
  if (jpeg.subarray(6, 11).toString('latin1') !== 'JFIF\0') return null
  return { version: `${jpeg[11]}.${jpeg[12]}`, units: jpeg[13], xDensity: jpeg.readUInt16BE(14), yDensity: jpeg.readUInt16BE(16) }
}

/** Every tag exiftool reads from a file, by group:name; -n for numbers and raw values. */
async function exiftool(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)('exiftool', ['-j', '-G', '-api', 'XMPAutoConv=0', file])
  return JSON.parse(stdout)[0]
}

const test = suite('renderPrint')

test('a product without media is round(mm / 25.4 * dpi) pixels: 89x127 mm is 1051x1500 at 300 dpi, 2102x3000 at 600 dpi', async () => {
  const photo = await solid(600, 900, '#888').jpeg().toBuffer()
  for (const [dpi, w, h] of [[300, 1051, 1500], [600, 2102, 3000]]) {
    const out = await render(photo, { dpi })
    assert.equal([out.widthPx, out.heightPx], [w, h])
    const meta = await sharp(out.jpeg).metadata()
    assert.equal([meta.format, meta.width, meta.height, meta.density], ['jpeg', w, h, dpi])
  }
})

test('a product with media is exactly the paper at the printer\'s resolution: 4x6, L and 5x7 at 300 and 600 dpi', async () => {
  const photo = await solid(600, 900, '#888').jpeg().toBuffer()
  const expected: Array<[keyof typeof MEDIA, number, number, number]> = [
    ['4x6', 300, 1200, 1800], ['4x6', 600, 2400, 3600],
    ['L', 300, 1050, 1500], ['L', 600, 2100, 3000],
    ['5x7', 300, 1500, 2100], ['5x7', 600, 3000, 4200],
  ]
  for (const [product, dpi, w, h] of expected) {
    const out = await render(photo, { product: MEDIA[product], dpi })
    assert.equal([out.widthPx, out.heightPx], [w, h], `${product} at ${dpi} dpi`)
    const meta = await sharp(out.jpeg).metadata()
    assert.equal([meta.width, meta.height], [w, h], `${product} at ${dpi} dpi, the file`)
  }
  // Landscape photos turn the same exact box round.
  const landscape = await render(await solid(900, 600, '#888').jpeg().toBuffer(), { product: MEDIA['4x6'] })
  assert.equal([landscape.widthPx, landscape.heightPx], [1800, 1200])
})

test('a product whose media is no self-describing name is RenderError bad-media, naming it', async () => {
  const photo = await solid(60, 90, '#888').jpeg().toBuffer()
  for (const name of ['photo-l', 'iso_a4_8.27x11.69in', 'na_index-4x6_4x6']) {
    const error = await rejection(render(photo, { product: { ...L, media: name } }))
    assert.instance(error, RenderError)
    assert.is((error as RenderError).reason, 'bad-media')
    assert.match((error as Error).message, `media "${name}" is not a PWG 5101.1 self-describing size name`)
  }
})

test('the JFIF header says dots per inch and the printer\'s resolution, read byte by byte', async () => {
  for (const dpi of [300, 600]) {
    const out = await render(await solid(600, 900, '#888').jpeg().toBuffer(), { product: MEDIA.L, dpi })
    assert.equal(jfif(out.jpeg), { version: '1.2', units: 1, xDensity: dpi, yDensity: dpi })
    const meta = await sharp(out.jpeg).metadata()
    assert.is(meta.density, dpi)
    assert.is(meta.resolutionUnit, 'inch')
  }
})

test('withJfifDensity rewrites a JFIF header already there instead of adding a second', async () => {
  const plain = await solid(30, 20, '#888').jpeg().toBuffer()
  // A JFIF 1.01 header with no units and 1:1 aspect, as many encoders write it.
  const app0 = Buffer.from([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
  const withHeader = Buffer.concat([plain.subarray(0, 2), app0, plain.subarray(2)])
  const out = withJfifDensity(withHeader, 400)
  assert.is(out.length, withHeader.length)
  assert.equal(jfif(out), { version: '1.1', units: 1, xDensity: 400, yDensity: 400 })
  assert.is((await sharp(out).metadata()).width, 30)
})

test('the print embeds an sRGB ICC profile', async () => {
  const out = await render(await solid(600, 900, '#888').jpeg().toBuffer(), { product: MEDIA['4x6'] })
  const meta = await sharp(out.jpeg).metadata()
  assert.ok(meta.icc && meta.icc.length > 0, 'an ICC profile')
  // The profile's own header: 'acsp' at byte 36, colour space 'RGB ' at 16; its description names sRGB.
  assert.is(meta.icc.subarray(36, 40).toString('latin1'), 'acsp')
  assert.is(meta.icc.subarray(16, 20).toString('latin1'), 'RGB ')
  // The description tag ('desc' or, in ICC v4, multi-localized UTF-16) names sRGB.
  const utf16 = Buffer.from('sRGB', 'utf16le').swap16()
  assert.ok(meta.icc.includes('sRGB', 0, 'latin1') || meta.icc.includes(utf16), 'the profile is sRGB')
})

test('a landscape photo gets a landscape print, cropped to fill it', async () => {
  // A 3:1 photo with blue ends: cropped to the centre, none of the blue may remain.
  const photo = await solid(1200, 400, '#f00')
    .composite([{ input: await solid(200, 400, '#00f').png().toBuffer(), left: 0, top: 0 }, { input: await solid(200, 400, '#00f').png().toBuffer(), left: 1000, top: 0 }])
    .jpeg().toBuffer()
  const out = await render(photo)
  assert.equal([out.widthPx, out.heightPx], [1500, 1051])
  assert.ok(near(await pixel(out.jpeg, 2, 525), RED), 'left edge')
  assert.ok(near(await pixel(out.jpeg, 1497, 525), RED), 'right edge')
})

test('a photo with EXIF orientation 6 is turned upright before it is cropped', async () => {
  // Stored landscape, red on top, blue below; orientation 6 (turn 90° clockwise) shows it
  // portrait with blue on the left and red on the right.
  const stored = await solid(300, 200, '#00f').composite([{ input: await solid(300, 100, '#f00').png().toBuffer(), left: 0, top: 0 }])
    .jpeg().withMetadata({ orientation: 6 }).toBuffer()
  assert.is((await sharp(stored).metadata()).orientation, 6)
  const out = await render(stored)
  assert.equal([out.widthPx, out.heightPx], [1051, 1500])
  assert.ok(near(await pixel(out.jpeg, 200, 750), BLUE), `left is ${await pixel(out.jpeg, 200, 750)}`)
  assert.ok(near(await pixel(out.jpeg, 850, 750), RED), `right is ${await pixel(out.jpeg, 850, 750)}`)
  assert.is((await sharp(out.jpeg).metadata()).orientation ?? 1, 1)
})

test('a crop box prints the part of the photo the customer chose, not the centre', async () => {
  // A 3:1 photo, red with a blue left end (250 px) that the centred fill cuts off entirely: the
  // customer's box over the left end prints it.
  const photo = await solid(1200, 400, '#f00').composite([{ input: await solid(250, 400, '#00f').png().toBuffer(), left: 0, top: 0 }]).jpeg().toBuffer()
  const centred = await render(photo)
  assert.ok(near(await pixel(centred.jpeg, 2, 525), RED), 'without a crop no blue is left')
  const left = await render(photo, { crop: { x: 0, y: 0, w: 0.47, h: 1 } })
  assert.equal([left.widthPx, left.heightPx], [1500, 1051])
  assert.ok(near(await pixel(left.jpeg, 200, 525), BLUE), `left part is ${await pixel(left.jpeg, 200, 525)}`)
  assert.ok(near(await pixel(left.jpeg, 1400, 525), RED), `right part is ${await pixel(left.jpeg, 1400, 525)}`)
})

test('"fit" prints the whole photo on white bands, and a crop applies to the upright photo', async () => {
  // A 3:1 red photo fitted on a 1500x1051 print: white above and below, red across the middle.
  const wide = await solid(1200, 400, '#f00').jpeg().toBuffer()
  const fit = await render(wide, { crop: 'fit' })
  assert.equal([fit.widthPx, fit.heightPx], [1500, 1051])
  assert.ok(near(await pixel(fit.jpeg, 750, 20), WHITE, 8), 'band above')
  assert.ok(near(await pixel(fit.jpeg, 750, 1030), WHITE, 8), 'band below')
  assert.ok(near(await pixel(fit.jpeg, 750, 525), RED), 'the photo in the middle')
  assert.ok(near(await pixel(fit.jpeg, 5, 525), RED), 'the whole width is the photo')
  // Stored landscape (red top half, blue bottom), orientation 6 shows it portrait: blue left, red right.
  // A box over the upright photo's right part prints red only.
  const stored = await solid(900, 600, '#00f').composite([{ input: await solid(900, 300, '#f00').png().toBuffer(), left: 0, top: 0 }])
    .jpeg().withMetadata({ orientation: 6 }).toBuffer()
  const right = await render(stored, { crop: { x: 0.55, y: 0.2, w: 0.45, h: 0.43 } })
  assert.equal([right.widthPx, right.heightPx], [1051, 1500])
  assert.ok(near(await pixel(right.jpeg, 100, 750), RED), `left of the print is ${await pixel(right.jpeg, 100, 750)}`)
  assert.ok(near(await pixel(right.jpeg, 950, 750), RED), `right of the print is ${await pixel(right.jpeg, 950, 750)}`)
})

test('white-border leaves white edges about 3% of the short side wide around the photo', async () => {
  const out = await render(await solid(600, 900, '#123').jpeg().toBuffer(), { template: 'white-border' })
  assert.equal([out.widthPx, out.heightPx], [1051, 1500])
  // 3% of 1051 is 32 px.
  for (const [x, y] of [[0, 0], [1050, 1499], [525, 5], [525, 1494], [5, 750], [1045, 750], [28, 750]]) {
    assert.ok(near(await pixel(out.jpeg, x, y), WHITE, 8), `(${x}, ${y}) is ${await pixel(out.jpeg, x, y)}`)
  }
  assert.ok(near(await pixel(out.jpeg, 36, 750), [0x11, 0x22, 0x33]), 'the photo starts inside the border')
  assert.ok(near(await pixel(out.jpeg, 525, 750), [0x11, 0x22, 0x33]), 'centre')
})

test('a full-size frame PNG from the templates folder is composited over the photo, turned to fit', async () => {
  const templatesDir = await mkdtemp(join(tmpdir(), 'labsync-templates-'))
  try {
    // A portrait frame: a green band 10% of the width round a transparent window.
    const frame = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="150"><rect x="5" y="5" width="90" height="140" fill="none" stroke="#0f0" stroke-width="10"/></svg>')
    await writeFile(join(templatesDir, 'green-frame.png'), await sharp(frame).png().toBuffer())
    const portrait = await render(await solid(600, 900, '#00f').jpeg().toBuffer(), { template: 'green-frame', templatesDir })
    assert.ok(near(await pixel(portrait.jpeg, 30, 750), GREEN), `frame is ${await pixel(portrait.jpeg, 30, 750)}`)
    assert.ok(near(await pixel(portrait.jpeg, 525, 750), BLUE), 'the photo shows through the window')
    const landscape = await render(await solid(900, 600, '#00f').jpeg().toBuffer(), { template: 'green-frame', templatesDir })
    assert.equal([landscape.widthPx, landscape.heightPx], [1500, 1051])
    assert.ok(near(await pixel(landscape.jpeg, 750, 30), GREEN), 'the turned frame runs along the top')
    assert.ok(near(await pixel(landscape.jpeg, 750, 525), BLUE))
  } finally {
    await rm(templatesDir, { recursive: true, force: true })
  }
})

test('a template that is neither built in nor in the templates folder is a clear RenderError', async () => {
  const photo = await solid(60, 90, '#888').jpeg().toBuffer()
  const templatesDir = await mkdtemp(join(tmpdir(), 'labsync-templates-'))
  try {
    for (const template of ['gold-frame', '../../etc/passwd']) {
      const error = await rejection(render(photo, { template, templatesDir }))
      assert.instance(error, RenderError)
      assert.is((error as RenderError).reason, 'unknown-template')
      assert.match((error as Error).message, `"${template}"`)
    }
    assert.match((await rejection(render(photo, { template: 'gold-frame' })) as Error).message, 'no templates folder')
  } finally {
    await rm(templatesDir, { recursive: true, force: true })
  }
})

test('exiftool reads the order record back from both XMP and EXIF', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labsync-render-'))
  try {
    const out = await render(await solid(600, 900, '#888').jpeg().toBuffer(), { dpi: 600 })
    const file = join(dir, 'print.jpg')
    await writeFile(file, out.jpeg)
    // XMPAutoConv=0: otherwise exiftool turns date-like values of unknown XMP tags into its own
    // `2025:03:01 10:15:00` form; the file holds the ISO string.
    const { stdout } = await promisify(execFile)('exiftool', ['-j', '-G', '-api', 'XMPAutoConv=0', file])
    const tags = JSON.parse(stdout)[0]
    assert.equal(
      [tags['XMP:Order'], tags['XMP:User'], tags['XMP:ReceivedAt'], tags['XMP:Front'], tags['XMP:Lab'], tags['XMP:Item']],
      [RECORD.order, RECORD.user, RECORD.receivedAt, RECORD.front, RECORD.lab, RECORD.item],
    )
    assert.is(tags['EXIF:ImageDescription'], 'labsync order=ord-7f3a user=user-42 receivedAt=2025-03-01T10:15:00.000Z front=store-1 lab=lab-1 item=2')
    assert.equal([tags['EXIF:XResolution'], tags['EXIF:YResolution'], tags['EXIF:ResolutionUnit']], [600, 600, 'inches'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('exiftool reads the density in JFIF and EXIF, the sRGB profile, and the order number when the receipt has one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labsync-render-'))
  try {
    const photo = await solid(600, 900, '#888').jpeg().toBuffer()
    const file = join(dir, 'print.jpg')
    await writeFile(file, (await render(photo, { product: MEDIA['5x7'], record: { ...RECORD, number: 'S1-0042' } })).jpeg)
    const tags = await exiftool(file)
    assert.equal([tags['File:ImageWidth'], tags['File:ImageHeight']], [1500, 2100])
    assert.equal([tags['JFIF:XResolution'], tags['JFIF:YResolution'], tags['JFIF:ResolutionUnit']], [300, 300, 'inches'])
    assert.equal([tags['EXIF:XResolution'], tags['EXIF:YResolution'], tags['EXIF:ResolutionUnit']], [300, 300, 'inches'])
    assert.match(String(tags['ICC_Profile:ProfileDescription']), /sRGB/)
    assert.is(tags['ICC_Profile:ColorSpaceData'], 'RGB ')
    assert.is(tags['XMP:Number'], 'S1-0042')
    assert.is(tags['EXIF:ImageDescription'], 'labsync order=ord-7f3a number=S1-0042 user=user-42 receivedAt=2025-03-01T10:15:00.000Z front=store-1 lab=lab-1 item=2')
    // Without a number, none is written: not an empty one.
    await writeFile(file, (await render(photo, { product: MEDIA['5x7'] })).jpeg)
    const without = await exiftool(file)
    assert.is(without['XMP:Number'], undefined)
    assert.is(without['XMP:Order'], RECORD.order)
    assert.not.match(String(without['EXIF:ImageDescription']), 'number')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a truncated JPEG is RenderError broken-image', async () => {
  const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer()
  const error = await rejection(render(photo.subarray(0, Math.floor(photo.length / 2))))
  assert.instance(error, RenderError)
  assert.is((error as RenderError).reason, 'broken-image')
  assert.match((error as Error).message, /premature end|truncated/i)
})

test('something that is no image is RenderError broken-image', async () => {
  for (const bytes of [Buffer.from('this is not a photo, it is a shopping list'), Buffer.alloc(0)]) {
    const error = await rejection(render(bytes))
    assert.instance(error, RenderError)
    assert.is((error as RenderError).reason, 'broken-image')
  }
})

test('a decompression bomb (a tiny file claiming 60000x60000 pixels) is refused before decoding', async () => {
  const jpeg = Buffer.from(await solid(64, 64, '#888').jpeg().toBuffer())
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]))
  jpeg.writeUInt16BE(60000, sof + 5) // height
  jpeg.writeUInt16BE(60000, sof + 7) // width
  const error = await rejection(render(jpeg))
  assert.instance(error, RenderError)
  assert.is((error as RenderError).reason, 'too-large')
  const small = await rejection(render(await solid(600, 900, '#888').jpeg().toBuffer(), { maxInputPixels: 100_000 }))
  assert.is((small as RenderError).reason, 'too-large')
})

test.run()
