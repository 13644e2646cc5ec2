// PWG 5101.1 self-describing media names: exact sizes, exact inch/mm conversion, one rounding to
// pixels, and malformed names refused with the problem named.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as media from '../../shared/media.ts'

const test = suite('media')

const px = (name: string, dpi: number) => media.pixelSize(media.parse(name), dpi)

test('4x6 in is exactly 1200x1800 px at 300 dpi and 2400x3600 at 600 dpi', () => {
  assert.equal(px('na_index-4x6_4x6in', 300), { widthPx: 1200, heightPx: 1800 })
  assert.equal(px('na_index-4x6_4x6in', 600), { widthPx: 2400, heightPx: 3600 })
})

test('L (3.5x5 in) is exactly 1050x1500 px at 300 dpi and 2100x3000 at 600 dpi', () => {
  assert.equal(px('oe_photo-l_3.5x5in', 300), { widthPx: 1050, heightPx: 1500 })
  assert.equal(px('oe_photo-l_3.5x5in', 600), { widthPx: 2100, heightPx: 3000 })
})

test('5x7 in is exactly 1500x2100 px at 300 dpi and 3000x4200 at 600 dpi', () => {
  assert.equal(px('na_5x7_5x7in', 300), { widthPx: 1500, heightPx: 2100 })
  assert.equal(px('na_5x7_5x7in', 600), { widthPx: 3000, heightPx: 4200 })
})

test('a name reads as its class, size name and exact sides', () => {
  assert.equal(media.parse('oe_photo-l_3.5x5in'), {
    name: 'oe_photo-l_3.5x5in', mediaClass: 'oe', sizeName: 'photo-l',
    width: { num: 35, den: 10, unit: 'in' }, height: { num: 5, den: 1, unit: 'in' },
  })
  assert.equal(media.parse('iso_a4_210x297mm').width, { num: 210, den: 1, unit: 'mm' })
})

test('inches and millimetres convert at exactly 25.4 mm to the inch', () => {
  const l = media.parse('oe_photo-l_3.5x5in')
  assert.is(media.millimetres(l.width), 88.9)
  assert.is(media.millimetres(l.height), 127)
  assert.is(media.inches(l.width), 3.5)
  const postcard = media.parse('jpn_hagaki_100x148mm')
  assert.is(media.millimetres(postcard.width), 100)
  assert.is(media.inches(media.parse('iso_x_254x508mm').width), 10)
  assert.is(media.inches(media.parse('iso_x_254x508mm').height), 20)
})

test('millimetre sizes round once, at the end: 100x148 mm at 300 dpi is 1181x1748 px', () => {
  // 100 / 25.4 * 300 = 1181.10…, 148 / 25.4 * 300 = 1748.03…
  assert.equal(px('jpn_hagaki_100x148mm', 300), { widthPx: 1181, heightPx: 1748 })
  // 210 mm at 600 dpi is 4960.629… (A4), 297 mm 7015.748…
  assert.equal(px('iso_a4_210x297mm', 600), { widthPx: 4961, heightPx: 7016 })
})

test('a half pixel rounds up, computed exactly rather than in floating point', () => {
  // 4.125 in x 100 dpi = 412.5 px exactly, which rounds to 413.
  assert.is(media.pixels(media.parse('na_number-10_4.125x9.5in').width, 100), 413)
  // 3.683 mm at 100 dpi is 14.5 px exactly; 3.683 / 25.4 * 100 in doubles is 14.4999… and rounds down.
  assert.is(Math.round((3.683 / 25.4) * 100), 14)
  assert.is(media.pixels(media.parse('custom_x_3.683x10mm').width, 100), 15)
})

test('pixels refuse a dpi that is not a positive whole number', () => {
  const side = media.parse('na_5x7_5x7in').width
  for (const dpi of [0, -300, 299.5, Number.NaN]) assert.throws(() => media.pixels(side, dpi), RangeError)
})

test('malformed names are refused with a MediaNameError naming the name and the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['4x6', /shape/],
    ['na_index-4x6', /shape/],
    ['na_index-4x6_4x6', /shape/],
    ['na_index-4x6_4x6cm', /shape/],
    ['NA_index-4x6_4x6in', /shape/],
    ['na_index 4x6_4x6in', /shape/],
    ['na_index-4x6_4,5x6in', /shape/],
    ['na_index-4x6_4x6in ', /shape/],
    ['na_index-4x6_0x6in', /zero/],
    ['iso_a4_8.27x11.69in', /class iso measures in mm/],
    ['na_letter_216x279mm', /class na measures in in/],
    ['zz_photo_4x6in', /unknown class zz/],
    ['choice_iso_a4_210x297mm_na_letter_8.5x11in', /shape/],
  ]
  for (const [name, problem] of cases) {
    let caught: unknown
    try {
      media.parse(name)
    } catch (error) {
      caught = error
    }
    assert.instance(caught, media.MediaNameError, name)
    const error = caught as media.MediaNameError
    assert.is(error.media, name)
    assert.match(error.problem, problem, `${name}: ${error.problem}`)
    assert.match(error.message, `media "${name}" is not a PWG 5101.1 self-describing size name`)
    assert.is(media.isSelfDescribing(name), false, name)
  }
})

test('the demo catalog sizes and custom sizes are self-describing', () => {
  for (const name of ['oe_photo-l_3.5x5in', 'na_index-4x6_4x6in', 'na_5x7_5x7in', 'custom_photo_89x127mm', 'roll_max_36x66.6667in']) {
    assert.ok(media.isSelfDescribing(name), name)
  }
})

test.run()
