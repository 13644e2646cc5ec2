// `--printer URI#media=M1,M2` (the media an operator states a printer holds) and `--printer`
// given more than once: how the values are read, and what is refused with a one-line error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError } from '../../shared/errors.ts'
import { parsePrinterArg } from '../../lab-node/printers/stated-media.ts'
import { parseOptions, repeatedValues } from '../../bin/options.ts'
import { LAB_HELP, LAB_OPTIONS } from '../../bin/usage.ts'

test('URI#media=… splits into the URI and the stated media; without it nothing is stated', () => {
  assert.equal(parsePrinterArg('ipp://h:631/ipp/print#media=na_index-4x6_4x6in,oe_photo-l_3.5x5in'),
    { uri: 'ipp://h:631/ipp/print', statedMedia: ['na_index-4x6_4x6in', 'oe_photo-l_3.5x5in'] })
  assert.equal(parsePrinterArg('file:/srv/prints#media=oe_photo-l_3.5x5in, oe_photo-l_3.5x5in'), { uri: 'file:/srv/prints', statedMedia: ['oe_photo-l_3.5x5in'] })
  assert.equal(parsePrinterArg('ipp://h/ipp/print'), { uri: 'ipp://h/ipp/print', statedMedia: null })
})

test('a media that is not a PWG self-describing name, an empty list or another suffix is a ConfigError naming it', () => {
  for (const [value, named] of [['ipp://h/p#media=A4', '"A4"'], ['ipp://h/p#media=', 'names no media'], ['ipp://h/p#paper=x', '#media=M1,M2']]) {
    try {
      parsePrinterArg(value)
      assert.unreachable(`${value} was accepted`)
    } catch (error) {
      assert.instance(error, ConfigError)
      assert.ok((error as Error).message.includes(named), (error as Error).message)
    }
  }
})

test('--printer may be given several times: every value, in order; other options keep the last', () => {
  const { values } = parseOptions('lab', ['--printer', 'ipp://a/p', '--lab', 'x', '--printer', 'file:/b#media=oe_photo-l_3.5x5in', '--lab', 'y'], LAB_OPTIONS)
  assert.equal(repeatedValues(values.printer), ['ipp://a/p', 'file:/b#media=oe_photo-l_3.5x5in'])
  assert.is(values.lab, 'y')
  assert.match(LAB_HELP, /may be repeated/)
  assert.match(LAB_HELP, /#media=/)
})

test.run()
