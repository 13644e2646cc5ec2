// Properties of the crop geometry (shared/crop.ts) the customer's preview and the lab's renderer
// share: every rectangle lies inside the photo and has the print's aspect to a pixel. Seeded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { cropRect, fitPlacement, isCrop, moveCrop, orientPrint, toCropBox, zoomCrop, type Rect } from '../../shared/crop.ts'

const SEED = 20261206
const NUM_RUNS = 500

const photo = fc.record({ w: fc.integer({ min: 8, max: 12_000 }), h: fc.integer({ min: 8, max: 12_000 }) })
  .filter(({ w, h }) => w / h <= 6 && h / w <= 6)
const print = fc.record({ w: fc.integer({ min: 50, max: 400 }), h: fc.integer({ min: 50, max: 400 }) })
  .filter(({ w, h }) => w / h <= 3 && h / w <= 3)
const fraction = fc.double({ min: 0, max: 1, noNaN: true })
const box = fc.record({ x: fraction, y: fraction, w: fc.double({ min: 0.001, max: 1, noNaN: true }), h: fc.double({ min: 0.001, max: 1, noNaN: true }) })
  .map(({ x, y, w, h }) => ({ x: x * (1 - w), y: y * (1 - h), w, h }))

const inside = (rect: Rect, w: number, h: number) =>
  Number.isInteger(rect.left) && Number.isInteger(rect.top) && rect.left >= 0 && rect.top >= 0
  && rect.width >= 1 && rect.height >= 1 && rect.left + rect.width <= w && rect.top + rect.height <= h

/** Right to a pixel: one side is the other times the aspect, give or take one pixel. */
function hasAspect(rect: Rect, aspect: number): boolean {
  return Math.abs(rect.width - aspect * rect.height) <= 1 || Math.abs(rect.height - rect.width / aspect) <= 1
}

const run = (property: fc.IPropertyWithHooks<any> | fc.IProperty<any>) => fc.assert(property, { seed: SEED, numRuns: NUM_RUNS })

test('the default fill is inside the photo, has the print\'s aspect and is as large as it can be', () => {
  run(fc.property(photo, print, (p, q) => {
    const rect = cropRect(p.w, p.h, q.w, q.h)
    const o = orientPrint(p.w, p.h, q.w, q.h)
    assert.ok(inside(rect, p.w, p.h), JSON.stringify(rect))
    assert.ok(hasAspect(rect, o.width / o.height), JSON.stringify({ rect, o }))
    assert.ok(rect.width >= p.w - 1 || rect.height >= p.h - 1, 'touches two sides of the photo')
  }))
})

test('a stored crop box is inside the photo and has the print\'s aspect, whatever box was stored', () => {
  run(fc.property(photo, print, box, (p, q, b) => {
    const rect = cropRect(p.w, p.h, q.w, q.h, b)
    const o = orientPrint(p.w, p.h, q.w, q.h)
    assert.ok(inside(rect, p.w, p.h), JSON.stringify({ rect, b }))
    assert.ok(hasAspect(rect, o.width / o.height), JSON.stringify({ rect, o, b }))
  }))
})

test('a crop of the print\'s aspect read back from its box is the same rectangle, to a pixel', () => {
  run(fc.property(photo, print, box, (p, q, b) => {
    const rect = cropRect(p.w, p.h, q.w, q.h, b)
    const stored = toCropBox(rect, p.w, p.h)
    assert.ok(isCrop(stored), JSON.stringify(stored))
    const again = cropRect(p.w, p.h, q.w, q.h, stored)
    for (const key of ['left', 'top', 'width', 'height'] as const) assert.ok(Math.abs(again[key] - rect[key]) <= 1, `${key}: ${JSON.stringify({ rect, again })}`)
  }))
})

test('moving and zooming always store a valid crop inside the photo', () => {
  run(fc.property(photo, print, box, fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: -5000, max: 5000 }), fc.double({ min: 0.2, max: 20, noNaN: true }), (p, q, b, dx, dy, factor) => {
    const moved = moveCrop(p.w, p.h, q.w, q.h, b, dx, dy)
    const zoomed = zoomCrop(p.w, p.h, q.w, q.h, moved, factor)
    assert.ok(isCrop(moved), JSON.stringify(moved))
    assert.ok(isCrop(zoomed), JSON.stringify(zoomed))
    assert.ok(inside(cropRect(p.w, p.h, q.w, q.h, zoomed), p.w, p.h))
  }))
})

test('"fit" prints the whole photo, placed inside the print with its own aspect', () => {
  run(fc.property(photo, fc.integer({ min: 100, max: 4000 }), fc.integer({ min: 100, max: 4000 }), (p, cw, ch) => {
    assert.equal(cropRect(p.w, p.h, 100, 150, 'fit'), { left: 0, top: 0, width: p.w, height: p.h })
    const place = fitPlacement(p.w, p.h, cw, ch)
    assert.ok(inside(place, cw, ch), JSON.stringify(place))
    assert.ok(place.width === cw || place.height === ch || place.width >= cw - 1 || place.height >= ch - 1, 'touches two sides')
    assert.ok(hasAspect(place, p.w / p.h), JSON.stringify({ place, p }))
  }))
})

test('a 3:4 photo on a postcard: the default loses width, a landscape photo prints landscape', () => {
  // 3000×4000 portrait on 102×152: the fill is 2684 wide, 4000 high (the issue's ~10% of the width).
  assert.equal(cropRect(3000, 4000, 102, 152), { left: 158, top: 0, width: 2684, height: 4000 })
  assert.equal(orientPrint(4000, 3000, 102, 152), { width: 152, height: 102 })
  assert.equal(orientPrint(3000, 3000, 152, 102), { width: 152, height: 102 })
})

test('values that are not crops read as no crop', () => {
  for (const bad of [null, 'fill', { x: 0.5, y: 0, w: 0.6, h: 1 }, { x: -0.1, y: 0, w: 0.5, h: 0.5 }, { x: 0, y: 0, w: 0, h: 1 }, [0, 0, 1, 1]]) {
    assert.not.ok(isCrop(bad), JSON.stringify(bad))
  }
  assert.equal(cropRect(400, 300, 3, 2, { x: 0.5, y: 0, w: 0.6, h: 1 } as never), cropRect(400, 300, 3, 2))
})

test.run()
