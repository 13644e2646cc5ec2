// `labsync admin …` as runAdmin, in-process against the admin API on a real database: an aligned
// table over every page, CSV as the relay streams it, JSON, and one-line errors with their exit codes.
import { createServer } from 'node:net'
import { createServer as createHttpServer, type Server } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EXIT, runAdmin, type AdminIO } from '../../admin/cli.ts'
import { ConfigError } from '../../shared/errors.ts'
import { ADMIN_TOKEN, LAB_KEYS, get, historyEntry, reception, startAdminServer, type AdminServer } from '../helpers/admin.ts'

const MAY_1 = Date.parse('2024-05-01T00:00:00+09:00')
const HISTORY_ROWS = 2_500
let server: AdminServer

test.before(async () => {
  server = await startAdminServer()
  server.receptions.record(reception({ order: 'a1', receivedAt: new Date(MAY_1) }), [])
  server.receptions.record(reception({
    order: 'a2', receivedAt: new Date(MAY_1 + 3600_000),
    discount: { previousOrder: 'a1', previousReceivedAt: new Date(MAY_1).toISOString(), within: 'P7D', amount: 200 },
  }), [])
  server.receptions.record(reception({ order: 'b1', user: 'user-b', front: 'harbour', lab: 'lab-2', receivedAt: new Date(MAY_1 + 7200_000) }), [])
  server.history.record('lab-1', Array.from({ length: HISTORY_ROWS }, (_, i) => historyEntry({
    id: `h${String(i).padStart(5, '0')}`, order: 'a1', item: i, printedAt: new Date(MAY_1 + i * 1000).toISOString(),
    printer: i === 0 ? 'evil\n\u001b[31mred' : 'ipp://printer/ipp/print',
  })), new Date(MAY_1 + 86_400_000))
})

test.after(async () => {
  await server?.close()
})

/** Runs the command with stdout and stderr captured. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  let out = ''
  const err: string[] = []
  const decoder = new TextDecoder()
  const io: AdminIO = {
    out: (text) => { out += typeof text === 'string' ? text : decoder.decode(text, { stream: true }) },
    err: (line) => { err.push(line) },
  }
  const code = await runAdmin(argv, io, {})
  return { code, out, err }
}

const relay = () => ['--relay', server.url, '--token', ADMIN_TOKEN]

test('receipts as a table: aligned columns, money in the currency, discounts shown', async () => {
  const { code, out, err } = await run('receipts', ...relay())
  assert.is(code, EXIT.ok)
  assert.equal(err, [])
  const lines = out.trimEnd().split('\n')
  assert.is(lines.length, 2 + 3)
  assert.match(lines[0], /^Received\s+Number\s+Order\s+User\s+Customer\s+Store\s+Pickup\s+Lab\s+Status\s+Total\s+Discount\s+Within\s+Previous order\s+Error$/)
  assert.match(lines[1], /^-+( {2}-+)+$/)
  // Every column starts where its header starts.
  const starts = [...lines[1].matchAll(/-+/g)].map((m) => m.index)
  for (const line of lines.slice(2)) {
    for (const start of starts.slice(1)) if (start! < line.length) assert.is(line[start! - 1], ' ', `column at ${start} in ${JSON.stringify(line)}`)
  }
  // A deduction reads as on the receipt and the admin page: negative (issue 16).
  assert.match(lines[3], /a2 .* accepted\s+¥0\s+-¥170\s+P7D\s+a1/)
  // No account behind user-a in this database: the customer column falls back to the id.
  assert.match(lines[2], /^2024-04-30T15:00:00Z\s+C222\s+a1\s+user-a\s+user-a\s+station\s+lab-1\s+accepted\s+¥170\s*$/)
})

test('history as a table follows paging to the end, names with control characters escaped', async () => {
  const { code, out } = await run('history', ...relay())
  assert.is(code, EXIT.ok)
  const lines = out.trimEnd().split('\n')
  assert.is(lines.length, 2 + HISTORY_ROWS)
  assert.match(lines[2], /evil\\n\\x1b\[31mred/)
  assert.not.match(out, /\u001b/)
  // Items counted from 1, as on the admin page and in the CSV (the wire's item 2499 is the 2500th print).
  assert.match(lines.at(-1)!, /^2024-04-30T15:41:39Z\s+lab-1\s+a1\s+2500\s+2\s+completed\s/) // no size: a1 has one print line, not 2500
})

test('--limit stops after that many rows, across pages', async () => {
  const { out } = await run('history', ...relay(), '--limit', '1500')
  assert.is(out.trimEnd().split('\n').length, 2 + 1500)
})

test('filters reach the relay', async () => {
  const { out } = await run('receipts', ...relay(), '--lab', 'lab-2', '--format', 'json')
  assert.equal((JSON.parse(out) as Array<{ order: string }>).map((r) => r.order), ['b1'])
  const since = await run('receipts', ...relay(), '--since', '2024-05-01T01:00:00+09:00', '--user', 'user-a', '--format', 'json')
  assert.equal((JSON.parse(since.out) as Array<{ order: string }>).map((r) => r.order), ['a2'])
  const until = await run('history', ...relay(), '--until', '2024-05-01T00:00:03+09:00', '--format', 'json')
  assert.is((JSON.parse(until.out) as unknown[]).length, 3)
})

/** Control characters other than the CRLF ending each CSV record (or LF ending a line). */
const RAW_CONTROL = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)/

test('CSV is what the relay streams, byte for byte, control characters escaped by the relay', async () => {
  const { code, out } = await run('history', ...relay(), '--format', 'csv')
  assert.is(code, EXIT.ok)
  assert.is(out, await (await get(server.url, '/api/admin/history?format=csv')).text())
  assert.ok(out.includes('evil\\n\\x1b[31mred'), 'the printer name with a line break and an ANSI escape, escaped')
  assert.not.match(out, RAW_CONTROL)
  assert.is(out.split('\r\n').length, 1 + HISTORY_ROWS + 1)
  const limited = await run('receipts', ...relay(), '--format', 'csv', '--limit', '2')
  assert.is(limited.out.split('\r\n').length, 1 + 2 + 1)
})

test('JSON is one array of every row, across pages', async () => {
  const { code, out } = await run('history', ...relay(), '--format', 'json')
  assert.is(code, EXIT.ok)
  const rows = JSON.parse(out) as Array<{ id: string }>
  assert.is(rows.length, HISTORY_ROWS)
  assert.is(new Set(rows.map((r) => r.id)).size, HISTORY_ROWS)
  assert.equal(JSON.parse((await run('receipts', ...relay(), '--lab', 'none', '--format', 'json')).out), [])
})

/** A server at --relay that answers every listing with what it is given, as any server might. */
async function fakeRelay(csv: string, json: object): Promise<{ url: string; server: Server }> {
  const fake = createHttpServer((req, res) => {
    const isCsv = new URL(req.url ?? '/', 'http://x').searchParams.get('format') === 'csv'
    res.writeHead(200, { 'content-type': isCsv ? 'text/csv; charset=utf-8' : 'application/json' })
    if (!isCsv) return res.end(JSON.stringify(json))
    // In small pieces, so a CR or a character in UTF-8 falls across chunks.
    const bytes = Buffer.from(csv)
    for (let i = 0; i < bytes.length; i += 3) res.write(bytes.subarray(i, i + 3))
    res.end()
  })
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(fake.address() as { port: number }).port}`, server: fake }
}

test('whatever a relay sends, no control character reaches the terminal: CSV and JSON', async () => {
  const hostile = 'printer\u001b]0;owned\u0007 \u009b2J\u007f over\rwritten'
  const fake = await fakeRelay(`id,printer\r\nh1,"${hostile}"\r\nh2,plain\r\n`, { rows: [{ id: 'h1', printer: hostile }], next: null })
  try {
    const csv = await run('history', '--relay', fake.url, '--token', ADMIN_TOKEN, '--format', 'csv')
    assert.is(csv.code, EXIT.ok)
    assert.not.match(csv.out, RAW_CONTROL)
    assert.is(csv.out, 'id,printer\r\nh1,"printer\\x1b]0;owned\\x07 \\x9b2J\\x7f over\\rwritten"\r\nh2,plain\r\n')
    const json = await run('history', '--relay', fake.url, '--token', ADMIN_TOKEN, '--format', 'json')
    assert.not.match(json.out, RAW_CONTROL)
    assert.equal((JSON.parse(json.out) as Array<{ printer: string }>)[0].printer, hostile, 'escaped the JSON way: the same text when parsed')
    const table = await run('history', '--relay', fake.url, '--token', ADMIN_TOKEN)
    assert.not.match(table.out, RAW_CONTROL)
    assert.match(table.out, /printer\\x1b\]0;owned\\x07 \\x9b2J\\x7f over\\rwritten/)
  } finally {
    await new Promise((resolve) => fake.server.close(resolve))
  }
})

test('labs as a table', async () => {
  const { code, out } = await run('labs', ...relay())
  assert.is(code, EXIT.ok)
  const lines = out.trimEnd().split('\n')
  assert.match(lines[0], /^Lab\s+Name\s+Queue\s+Last history\s+Last printed\s+Last seen\s+Online\s+Printers$/)
  assert.match(lines[2], /^lab-1\s+Central lab\s+\?\s+2024-05-01T15:00:00Z\s+2024-04-30T15:41:39Z\s+offline$/)
  assert.match(lines[3], /^lab-2\s+Harbour lab\s+\?\s+offline$/)
})

test('bad arguments are a ConfigError of one line', async () => {
  const bad: string[][] = [
    [],
    ['orders', ...relay()],
    ['receipts', 'extra', ...relay()],
    ['receipts', '--colour', ...relay()],
    ['receipts', '--token', ADMIN_TOKEN],
    ['receipts', '--relay', server.url],
    ['receipts', '--relay', 'ftp://example', '--token', 'x'],
    ['receipts', ...relay(), '--format', 'xml'],
    ['receipts', ...relay(), '--limit', '0'],
    ['receipts', ...relay(), '--since', 'last week'],
    ['labs', ...relay(), '--lab', 'lab-1'],
    ['receipts', ...relay(), '--admin', 'root'],
    ['receipts', ...relay(), '--status', 'printed'], // refused by the relay: still the caller's mistake
  ]
  for (const argv of bad) {
    try {
      await run(...argv)
      assert.unreachable(`no error for ${argv.join(' ')}`)
    } catch (error) {
      assert.instance(error, ConfigError, `${argv.join(' ')}: ${(error as Error).message}`)
      assert.not.match((error as Error).message, /\n/)
    }
  }
})

test('a token the relay refuses: one line, exit 3', async () => {
  for (const token of ['wrong-token', LAB_KEYS['lab-1']]) {
    const { code, out, err } = await run('receipts', '--relay', server.url, '--token', token)
    assert.is(code, EXIT.refused)
    assert.is(out, '')
    assert.is(err.length, 1)
    assert.match(err[0], /^labsync admin: the relay refused the token \(40[13]: /)
  }
})

test('an unreachable relay: one line naming the URL, exit 4', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
  const url = `http://127.0.0.1:${port}`
  const { code, err } = await run('history', '--relay', url, '--token', ADMIN_TOKEN, '--format', 'csv')
  assert.is(code, EXIT.unreachable)
  assert.equal(err, [`labsync admin: cannot reach the relay at ${url} (ECONNREFUSED)`])
})

test('the token may come from LABSYNC_ADMIN_TOKEN', async () => {
  let out = ''
  const code = await runAdmin(['labs', '--relay', server.url, '--format', 'json'], { out: (t) => { out += String(t) }, err: () => {} }, { LABSYNC_ADMIN_TOKEN: ADMIN_TOKEN })
  assert.is(code, EXIT.ok)
  assert.is((JSON.parse(out) as unknown[]).length, 2)
})

test.run()
