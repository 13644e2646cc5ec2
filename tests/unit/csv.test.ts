// The relay's CSV cells (relay/http/csv.ts): RFC 4180 for a parser, no formula for a spreadsheet
// whatever its separator, no control character for a terminal, and numbers still numbers.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { csvField, csvRecord } from '../../relay/http/csv.ts'
import { parseCsv, spreadsheetCells } from '../helpers/csv.ts'

const FORMULA = /^[=+\-@\t\r]/
const NUMBER = /^-?\d+(\.\d+)?$/
/** Controls other than the CRLF that ends each record. */
const RAW_CONTROL = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)|(?<!\r)\n/

const HOSTILE = [
  '=1+1', '+SUM(A1:A9)', '-2+3', '@cmd', '\t=1', '\r=1', '=cmd|\' /C calc\'!A0',
  'x;=cmd', 'x;=cmd|\' /C calc\'!A0;', 'a,=1+1', 'a\t+1', 'a; =1', 'a;"=1"', 'a;;@x', 'x;-2+3',
  '\u001b[31mred\u001b[0m', 'evil\n=1', 'crlf\r\n@x', 'csi \u009b31m', 'del\u007f', 'nul\u0000',
  'plain', 'comma, inside', 'semi; colon', 'quote " inside', 'ümlaut 日本語',
]

test('a formula at the start is defused with a leading apostrophe and quoted', () => {
  assert.is(csvField('=1+1'), `"'=1+1"`)
  assert.is(csvField('+SUM(A1:A9)'), `"'+SUM(A1:A9)"`)
  assert.is(csvField('-2+3'), `"'-2+3"`)
  assert.is(csvField('@cmd'), `"'@cmd"`)
  assert.is(csvField('=HYPERLINK("http://evil.example","x")'), `"'=HYPERLINK(""http://evil.example"",""x"")"`)
})

test('a formula right after ; , or tab inside a cell is defused there too, and the cell quoted', () => {
  assert.is(csvField('x;=cmd'), `"'x;'=cmd"`)
  assert.is(csvField('a,=1+1'), `"'a,'=1+1"`)
  assert.is(csvField('a\t+1'), `"'a\\t'+1"`)
  assert.is(csvField('a; =1'), `"'a; '=1"`)
  assert.is(csvField('a;"=1"'), `"'a;""'=1"""`)
  assert.is(csvField('a;b-c'), `"a;b-c"`) // a minus inside a word is no formula
})

test('cells with ; , or " are quoted; plain text is not', () => {
  assert.is(csvField('semi; colon'), `"semi; colon"`)
  assert.is(csvField('comma, inside'), `"comma, inside"`)
  assert.is(csvField('quote " inside'), `"quote "" inside"`)
  assert.is(csvField('plain'), 'plain')
  assert.is(csvField('ümlaut 日本語'), 'ümlaut 日本語')
})

test('control characters are written escaped: ANSI escapes, line breaks, tabs, DEL, C1', () => {
  assert.is(csvField('\u001b[31mred\u001b[0m'), '\\x1b[31mred\\x1b[0m')
  assert.is(csvField('line\nbreak'), 'line\\nbreak')
  assert.is(csvField('crlf\r\nbreak'), 'crlf\\r\\nbreak')
  assert.is(csvField('\tTAB'), `"'\\tTAB"`)
  assert.is(csvField('del\u007f csi\u009b31m nul\u0000'), 'del\\x7f csi\\x9b31m nul\\x00')
})

test('numbers stay readable: number cells as they are, text that is a plain number too', () => {
  assert.is(csvField(-200), '-200')
  assert.is(csvField(0), '0')
  assert.is(csvField('-200'), '-200')
  assert.is(csvField('-12.5'), '-12.5')
  assert.is(csvField('-200 yen'), `"'-200 yen"`)
  assert.is(csvField('-1e3'), `"'-1e3"`)
  assert.is(csvRecord(['a1', -200, null, true]), 'a1,-200,,true\r\n')
})

test('hostile text: one record for an RFC 4180 parser, no formula cell in any spreadsheet, no raw control', () => {
  const record = csvRecord(['order-1', ...HOSTILE, -200])
  assert.not.match(record, RAW_CONTROL)
  const [fields, ...more] = parseCsv(record)
  assert.is(more.length, 0)
  assert.is(fields.length, HOSTILE.length + 2)
  for (const separator of [',', ';', '\t']) {
    for (const cell of spreadsheetCells(record, separator)) {
      assert.ok(!FORMULA.test(cell) || NUMBER.test(cell), `${JSON.stringify(cell)} read as a formula with separator ${JSON.stringify(separator)}`)
    }
  }
  // Each cell keeps its text: the escapes read back and the apostrophes taken out, it is what was given.
  const unescape = (text: string) => text.replace(/\\(n|r|t|x[0-9a-f]{2})/g, (_, e: string) =>
    e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : String.fromCharCode(parseInt(e.slice(1), 16)))
  const apart = (text: string) => text.replaceAll("'", '')
  fields.slice(1, -1).forEach((field, i) => assert.is(apart(unescape(field)), apart(HOSTILE[i])))
  assert.is(fields.at(-1), '-200')
})

test.run()
