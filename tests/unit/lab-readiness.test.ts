// When a printer holds the lab's orders (lab-node/printers/readiness.ts): stopped, paused, a
// blocking fault reported as error or report, or no media listed; never for a mere warning.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { notReadyReason } from '../../lab-node/printers/readiness.ts'
import type { PrinterDescription } from '../../lab-node/printers/printer.ts'

const ready: PrinterDescription = { state: 'idle', stateReasons: [], media: ['oe_photo-l_3.5x5in'], formats: ['image/jpeg'], resolutionDpi: 300 }

test('an idle or processing printer with media and no blocking reason is ready', () => {
  assert.is(notReadyReason(ready), null)
  assert.is(notReadyReason({ ...ready, state: 'processing', stateReasons: ['media-low-warning', 'toner-low-report'] }), null)
})

test('a stopped printer (cupsdisable: paused) holds, naming its reasons', () => {
  assert.is(notReadyReason({ ...ready, state: 'stopped', stateReasons: ['paused'] }), 'printer stopped (paused)')
  assert.is(notReadyReason({ ...ready, state: 'stopped' }), 'printer stopped')
})

test('media-empty, media-jam and door-open hold as errors, reports or bare keywords; as warnings they do not', () => {
  for (const reason of ['media-empty-error', 'media-empty-report', 'media-jam', 'door-open-error', 'cover-open-report']) {
    assert.is(notReadyReason({ ...ready, stateReasons: [reason] }), reason)
  }
  assert.is(notReadyReason({ ...ready, stateReasons: ['media-empty-warning', 'door-open-warning'] }), null)
})

test('a queue that lists no media (a raw CUPS queue) holds', () => {
  assert.match(String(notReadyReason({ ...ready, media: [] })), /lists no media/)
})

test.run()
