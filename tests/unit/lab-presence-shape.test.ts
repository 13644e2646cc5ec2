// shared/presence.ts: the heartbeat's one shape, as the relay checks it and the lab node bounds it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { boundedMedia, MAX_MEDIA, MAX_PRINTERS, MAX_TEXT, parsePresenceReport } from '../../shared/presence.ts'
import { BadRequestError } from '../../shared/errors.ts'

const PRINTER = { uri: 'ipp://127.0.0.1:8631/ipp/print', state: 'idle', reasons: [] as string[] }
const MEDIA = ['na_index-4x6_4x6in', 'oe_photo-l_3.5x5in']

function refused(body: Record<string, unknown>, field: RegExp): void {
  try {
    parsePresenceReport(body)
  } catch (error) {
    assert.instance(error, BadRequestError)
    assert.match((error as Error).message, field)
    return
  }
  assert.unreachable(`accepted ${JSON.stringify(body).slice(0, 120)}`)
}

test('a printer\'s media is kept, as a copy, name for name', () => {
  const media = [...MEDIA]
  const report = parsePresenceReport({ intervalMs: 1_000, printers: [{ ...PRINTER, media }] })
  assert.equal(report, { intervalMs: 1_000, printers: [{ ...PRINTER, media: MEDIA }] })
  media.push('changed later')
  assert.equal(report.printers[0].media, MEDIA)
})

test('a lab node older than the media field is heard as before: no media, not an empty list', () => {
  const report = parsePresenceReport({ intervalMs: 1_000, printers: [PRINTER] })
  assert.equal(report.printers, [PRINTER])
  assert.not.ok('media' in report.printers[0])
})

test('fields the shape does not know are not kept', () => {
  const report = parsePresenceReport({ intervalMs: 1_000, printers: [{ ...PRINTER, media: MEDIA, secret: 'x' }], extra: 1 })
  assert.equal(report, { intervalMs: 1_000, printers: [{ ...PRINTER, media: MEDIA }] })
})

test('media: more than MAX_MEDIA names, a name too long or empty, or not a list, is refused naming media', () => {
  const many = Array.from({ length: MAX_MEDIA + 1 }, (_, i) => `custom_${i}_1x1in`)
  parsePresenceReport({ intervalMs: 1_000, printers: [{ ...PRINTER, media: many.slice(0, MAX_MEDIA) }] })
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, media: many }] }, /media/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, media: ['x'.repeat(MAX_TEXT + 1)] }] }, /media/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, media: [''] }] }, /media/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, media: 'na_index-4x6_4x6in' }] }, /media/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, media: [4] }] }, /media/)
})

test('printers, reasons, uri and interval stay bounded as before', () => {
  refused({ intervalMs: 1_000, printers: Array.from({ length: MAX_PRINTERS + 1 }, () => PRINTER) }, /printers/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, uri: 'x'.repeat(MAX_TEXT + 1) }] }, /uri and state/)
  refused({ intervalMs: 1_000, printers: [{ ...PRINTER, reasons: Array.from({ length: 17 }, () => 'paused') }] }, /reasons/)
  refused({ intervalMs: 99, printers: [] }, /intervalMs/)
  refused({ intervalMs: 1_000 }, /printers/)
})

test('the lab node bounds what a printer lists to what the relay takes: the first MAX_MEDIA names that fit', () => {
  const listed = ['y'.repeat(MAX_TEXT + 1), '', ...Array.from({ length: MAX_MEDIA + 10 }, (_, i) => `custom_${i}_1x1in`)]
  const bounded = boundedMedia(listed)
  assert.is(bounded.length, MAX_MEDIA)
  assert.is(bounded[0], 'custom_0_1x1in')
  parsePresenceReport({ intervalMs: 1_000, printers: Array.from({ length: MAX_PRINTERS }, () => ({ ...PRINTER, media: bounded })) })
})

test.run()
