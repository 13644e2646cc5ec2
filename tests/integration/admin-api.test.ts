// The admin API (/api/admin/…) over a real SQLite database filled the way the relay fills it:
// listings by every filter, keyset paging without loss or repeats, CSV that a spreadsheet reads
// safely, lab status, daily totals, reassignment with its audit trail, and who may ask.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { Rooms } from '../../sync-server/rooms.ts'
import { queueLengthFromRooms } from '../../relay/http/admin.ts'
import type { AuditEntry, DailyReport, HistoryRow, LabStatus, Page, ReceiptRow } from '../../shared/audit.ts'
import { parseCsv } from '../helpers/csv.ts'
import { ADMIN_TOKEN, LAB_KEYS, get, historyEntry, json, reception, startAdminServer, type AdminServer } from '../helpers/admin.ts'

const DAY = 86_400_000
/** 2024-05-01 00:00 in Tokyo (the config's time zone). */
const MAY_1 = Date.parse('2024-05-01T00:00:00+09:00')
const at = (ms: number) => new Date(ms)

let server: AdminServer
let customerToken = ''
const lastSeen = new Map<string, number>()
let rooms: Rooms | null = null
let store: SqliteDocStore | null = null

test.before(async () => {
  server = await startAdminServer({
    lastSeen: (lab) => lastSeen.get(lab) ?? null,
    queueLength: (lab) => queueLengthFromRooms(rooms!)(lab),
  })
  store = new SqliteDocStore(server.db)
  rooms = new Rooms({ store, hooks: {}, idleUnloadMs: 60_000, compactAfterUpdates: 500, maxRefusals: 20 })
  const account = await server.accounts.create('aiko@example.test', 'correct horse battery', 'Aiko')
  customerToken = (await server.accounts.startSession(account!.userId)).token
  // A small, known world: two customers, two stores, two labs, three days.
  const r = server.receptions
  r.record(reception({ order: 'a1', user: 'user-a', front: 'station', lab: 'lab-1', receivedAt: at(MAY_1 + 10 * 3600_000) }), [])
  r.record(reception({
    order: 'a2', user: 'user-a', front: 'station', lab: 'lab-1', receivedAt: at(MAY_1 + DAY + 9 * 3600_000),
    discount: { previousOrder: 'a1', previousReceivedAt: at(MAY_1 + 10 * 3600_000).toISOString(), within: 'P7D', amount: 200 },
  }), [])
  r.record(reception({ order: 'b1', user: 'user-b', front: 'harbour', lab: 'lab-2', receivedAt: at(MAY_1 + DAY + 12 * 3600_000) }), [])
  r.record(reception({ order: 'b2', user: 'user-b', front: 'harbour', lab: 'lab-2', status: 'rejected', error: 'photo missing', receivedAt: at(MAY_1 + 2 * DAY) }), [])
  server.history.record('lab-1', [
    historyEntry({ id: 'lab-1:a1-0:1', order: 'a1', item: 0, copies: 2, printedAt: at(MAY_1 + 11 * 3600_000).toISOString() }),
    historyEntry({ id: 'lab-1:a1-1:2', order: 'a1', item: 1, copies: 3, status: 'aborted', printedAt: at(MAY_1 + 11 * 3600_000 + 1000).toISOString() }),
    historyEntry({ id: 'lab-1:a2-0:3', order: 'a2', item: 0, copies: 1, printedAt: at(MAY_1 + DAY + 10 * 3600_000).toISOString() }),
  ], at(MAY_1 + DAY + 10 * 3600_000 + 30_000))
  server.history.record('lab-2', [
    historyEntry({ id: 'lab-2:b1-0:1', order: 'b1', item: 0, copies: 4, printedAt: at(MAY_1 + DAY + 13 * 3600_000).toISOString() }),
  ], at(MAY_1 + DAY + 13 * 3600_000 + 60_000))
})

test.after(async () => {
  await rooms?.close()
  await store?.close() // stops its writer thread before the database it writes is removed
  await server?.close()
})

const receipts = async (query: string) => {
  const { status, body } = await json<Page<ReceiptRow> & { error?: string }>(server.url, `/api/admin/receipts?${query}`)
  assert.is(status, 200, body.error)
  return body.rows.map((row) => row.order)
}
const history = async (query: string) => {
  const { status, body } = await json<Page<HistoryRow> & { error?: string }>(server.url, `/api/admin/history?${query}`)
  assert.is(status, 200, body.error)
  return body.rows.map((row) => row.id)
}

test('receipts carry the priced lines and the discount decision, oldest first', async () => {
  const { body } = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts')
  assert.equal(body.rows.map((r) => r.order), ['a1', 'a2', 'b1', 'b2'])
  assert.is(body.next, null)
  const a2 = body.rows[1]
  assert.equal(a2.discount, { previousOrder: 'a1', previousReceivedAt: at(MAY_1 + 10 * 3600_000).toISOString(), within: 'P7D', amount: 200 })
  assert.is(a2.discountApplied, 170) // 70 + 100 fee: the 200 tier is clamped so the total is not negative
  assert.is(a2.total, 0)
  assert.is(body.rows[3].error, 'photo missing')
})

test('every filter narrows receipts: lab, user, front, status, since, until', async () => {
  assert.equal(await receipts('lab=lab-2'), ['b1', 'b2'])
  assert.equal(await receipts('user=user-a'), ['a1', 'a2'])
  assert.equal(await receipts('front=harbour'), ['b1', 'b2'])
  assert.equal(await receipts('status=rejected'), ['b2'])
  assert.equal(await receipts('status=accepted&lab=lab-2'), ['b1'])
  // A bare date is midnight in the relay's time zone; since is inclusive, until exclusive.
  assert.equal(await receipts('since=2024-05-02'), ['a2', 'b1', 'b2'])
  assert.equal(await receipts('until=2024-05-02'), ['a1'])
  assert.equal(await receipts('since=2024-05-02&until=2024-05-03'), ['a2', 'b1'])
  assert.equal(await receipts(`since=${encodeURIComponent(at(MAY_1 + 2 * DAY).toISOString())}`), ['b2'])
  assert.equal(await receipts('since=2024-05-02T12:00:00%2B09:00'), ['b1', 'b2'])
  assert.equal(await receipts('since=2024-05-02T12:00'), ['b1', 'b2']) // no offset: the relay's time zone
  assert.equal(await receipts('lab=nowhere'), [])
  assert.equal(await receipts('lab=&user='), ['a1', 'a2', 'b1', 'b2']) // empty form fields filter nothing
})

test('every filter narrows history: lab, user, front, status, since, until', async () => {
  assert.equal(await history(''), ['lab-1:a1-0:1', 'lab-1:a1-1:2', 'lab-1:a2-0:3', 'lab-2:b1-0:1'])
  assert.equal(await history('lab=lab-2'), ['lab-2:b1-0:1'])
  assert.equal(await history('user=user-a'), ['lab-1:a1-0:1', 'lab-1:a1-1:2', 'lab-1:a2-0:3'])
  assert.equal(await history('front=harbour'), ['lab-2:b1-0:1'])
  assert.equal(await history('status=aborted'), ['lab-1:a1-1:2'])
  assert.equal(await history('since=2024-05-02'), ['lab-1:a2-0:3', 'lab-2:b1-0:1'])
  assert.equal(await history('until=2024-05-02'), ['lab-1:a1-0:1', 'lab-1:a1-1:2'])
  assert.equal(await history('lab=lab-1&since=2024-05-02&until=2024-05-03'), ['lab-1:a2-0:3'])
  const { body } = await json<Page<HistoryRow>>(server.url, '/api/admin/history?lab=lab-2')
  assert.equal(body.rows[0], {
    id: 'lab-2:b1-0:1', lab: 'lab-2', order: 'b1', item: 0, printer: 'ipp://127.0.0.1:8631/ipp/print', job: '1', copies: 4, status: 'completed',
    printedAt: at(MAY_1 + DAY + 13 * 3600_000).toISOString(), receivedAt: at(MAY_1 + DAY + 13 * 3600_000 + 60_000).toISOString(),
    user: 'user-b', front: 'harbour', size: 'L 89x127 mm',
  })
})

test('customer and lab tokens are refused with 403, no token or an unknown one with 401, as JSON', async () => {
  for (const path of ['/api/admin/receipts', '/api/admin/history', '/api/admin/labs', '/api/admin/audit', '/api/admin/daily']) {
    for (const [token, status] of [[customerToken, 403], [LAB_KEYS['lab-1'], 403], [null, 401], ['not-a-token', 401]] as const) {
      const res = await get(server.url, path, token)
      assert.is(res.status, status, `${path} with ${token ?? 'no token'}`)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      assert.type(((await res.json()) as { error: unknown }).error, 'string')
    }
  }
  // The token goes in the header only: a query-string token would end up in logs.
  assert.is((await get(server.url, `/api/admin/receipts?token=${ADMIN_TOKEN}`, null)).status, 401)
  const post = await fetch(`${server.url}/api/admin/orders/a1/reassign`, { method: 'POST', headers: { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' }, body: '{"lab":"lab-2"}' })
  assert.is(post.status, 403)
})

test('malformed queries are a 400 naming the parameter', async () => {
  const cases: Array<[string, RegExp]> = [
    ['/api/admin/receipts?since=yesterday', /^since: "yesterday" is not an ISO 8601/],
    ['/api/admin/history?until=2024-02-30', /^until: /],
    ['/api/admin/receipts?since=2024-05-02&until=2024-05-01', /until must be later than since/],
    ['/api/admin/receipts?limit=0', /^limit: /],
    ['/api/admin/receipts?limit=1001', /^limit: /],
    ['/api/admin/receipts?limit=ten', /^limit: /],
    ['/api/admin/receipts?status=printed', /^status: "printed" is not one of accepted, rejected, cancelled/],
    ['/api/admin/receipts?store=station', /^unknown parameter "store"/],
    ['/api/admin/receipts?lab=a&lab=b', /^lab given twice/],
    ['/api/admin/receipts?after=garbage', /^after: not a cursor of the receipts listing/],
    ['/api/admin/receipts?format=xml', /^format: "xml"/],
  ]
  for (const [path, message] of cases) {
    const { status, body } = await json<{ error: string }>(server.url, path)
    assert.is(status, 400, path)
    assert.match(body.error, message)
  }
  // A cursor of one listing is not accepted by another.
  const page = await json<Page<HistoryRow>>(server.url, '/api/admin/history?limit=1')
  const { status } = await json(server.url, `/api/admin/receipts?after=${page.body.next}`)
  assert.is(status, 400)
})

test('unknown endpoints are 404 and wrong methods 405, as JSON', async () => {
  assert.is((await json(server.url, '/api/admin/nothing')).status, 404)
  const res = await fetch(`${server.url}/api/admin/receipts`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  assert.is(res.status, 405)
  assert.is(res.headers.get('allow'), 'GET')
  assert.type(((await res.json()) as { error: string }).error, 'string')
})

test('the lab status panel: queue from the lab document, last history, last seen', async () => {
  const room = await rooms!.get({ kind: 'lab', name: 'lab/lab-1', labId: 'lab-1' })
  await room.writeAsRelay((doc) => {
    const queue = doc.getMap('queue')
    queue.set('a1', { receivedAt: at(MAY_1).toISOString(), front: 'station' })
    queue.set('a2', { receivedAt: at(MAY_1).toISOString(), front: 'station' })
  })
  rooms!.released(room)
  lastSeen.set('lab-2', MAY_1 + 3 * DAY)
  const { status, body } = await json<Page<LabStatus>>(server.url, '/api/admin/labs')
  assert.is(status, 200)
  assert.equal(body.rows, [
    {
      id: 'lab-1', name: 'Central lab', queue: 2,
      lastHistoryAt: at(MAY_1 + DAY + 10 * 3600_000 + 30_000).toISOString(), lastPrintedAt: at(MAY_1 + DAY + 10 * 3600_000).toISOString(), lastSeen: null, online: false, printers: [],
    },
    {
      id: 'lab-2', name: 'Harbour lab', queue: 0,
      lastHistoryAt: at(MAY_1 + DAY + 13 * 3600_000 + 60_000).toISOString(), lastPrintedAt: at(MAY_1 + DAY + 13 * 3600_000).toISOString(), lastSeen: at(MAY_1 + 3 * DAY).toISOString(), online: false, printers: [],
    },
  ])
})

test('daily totals per calendar day in the relay time zone: orders, discounts, prints per lab', async () => {
  const { status, body } = await json<DailyReport>(server.url, '/api/admin/daily?since=2024-04-30&until=2024-05-04')
  assert.is(status, 200)
  assert.is(body.timeZone, 'Asia/Tokyo')
  assert.equal(body.days, [
    { day: '2024-04-30', orders: 0, discounted: 0, discountAmount: 0, prints: {} },
    { day: '2024-05-01', orders: 1, discounted: 0, discountAmount: 0, prints: { 'lab-1': 2 } }, // the aborted job is not a print
    { day: '2024-05-02', orders: 2, discounted: 1, discountAmount: 170, prints: { 'lab-1': 1, 'lab-2': 4 } },
    { day: '2024-05-03', orders: 0, discounted: 0, discountAmount: 0, prints: {} }, // b2 was rejected
  ])
  const lab2 = await json<DailyReport>(server.url, '/api/admin/daily?since=2024-05-02&until=2024-05-03&lab=lab-2')
  assert.equal(lab2.body.days, [{ day: '2024-05-02', orders: 1, discounted: 0, discountAmount: 0, prints: { 'lab-2': 4 } }])
  assert.is((await json(server.url, '/api/admin/daily?since=2020-01-01&until=2024-01-01')).status, 400) // over 400 days
})

test('daily discount totals are what receipts took off: the whole tier, or the subtotal when smaller', async () => {
  const local = await startAdminServer()
  try {
    const previous = { previousOrder: 'x', previousReceivedAt: at(MAY_1).toISOString(), within: 'P1M' }
    local.receptions.record(reception({ order: 'whole', receivedAt: at(MAY_1 + 3600_000), discount: { ...previous, amount: 100 } }), []) // 170 - 100
    local.receptions.record(reception({ order: 'clamped', receivedAt: at(MAY_1 + 7200_000), discount: { ...previous, amount: 500 } }), []) // 170 - 170
    const { body } = await json<DailyReport>(local.url, '/api/admin/daily?since=2024-05-01&until=2024-05-02')
    assert.equal(body.days, [{ day: '2024-05-01', orders: 2, discounted: 2, discountAmount: 270, prints: {} }])
  } finally {
    await local.close()
  }
})

test('reassigning an order calls the relay and logs who moved what when, before and after', async () => {
  const moved: Array<[string, string]> = []
  let fail = false
  const clock = MAY_1 + 5 * DAY
  const local = await startAdminServer({
    now: () => clock,
    reassign: async (order, lab) => {
      if (fail) throw new Error('lab document unavailable')
      moved.push([order, lab])
    },
  })
  try {
    local.receptions.record(reception({ order: 'm1', receivedAt: at(MAY_1) }), [])
    local.receptions.record(reception({ order: 'm2', status: 'rejected', receivedAt: at(MAY_1) }), [])
    const post = (order: string, body: unknown) => fetch(`${local.url}/api/admin/orders/${order}/reassign`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    const ok = await post('m1', { lab: 'lab-2' })
    assert.is(ok.status, 200)
    assert.equal(await ok.json(), { order: 'm1', lab: 'lab-2', previousLab: 'lab-1', audit: 1 })
    assert.equal(moved, [['m1', 'lab-2']])
    assert.is((await post('m1', { lab: 'nowhere' })).status, 400)
    assert.is((await post('m1', {})).status, 400)
    assert.is((await post('zz', { lab: 'lab-2' })).status, 404)
    assert.is((await post('m2', { lab: 'lab-2' })).status, 409)
    assert.is((await post('m1', { lab: 'lab-1' })).status, 409) // this fake reassign leaves the reception at lab-1
    fail = true
    const failed = await post('m1', { lab: 'lab-2' })
    assert.is(failed.status, 500)
    assert.equal(await failed.json(), { error: 'internal error' })
    const { body } = await json<Page<AuditEntry>>(local.url, '/api/admin/audit')
    assert.equal(body.rows, [
      { id: 1, at: at(clock).toISOString(), admin: 'root', action: 'order.reassign', detail: { order: 'm1', from: 'lab-1', to: 'lab-2', outcome: 'done' } },
      { id: 2, at: at(clock).toISOString(), admin: 'root', action: 'order.reassign', detail: { order: 'm1', from: 'lab-1', to: 'lab-2', outcome: 'failed', error: 'lab document unavailable' } },
    ])
    assert.is((await json<Page<AuditEntry>>(local.url, '/api/admin/audit?action=none')).body.rows.length, 0)
    const csv = parseCsv(await (await get(local.url, '/api/admin/audit?format=csv')).text())
    assert.equal(csv[0], ['at', 'id', 'admin', 'action', 'detail'])
    assert.equal(JSON.parse(csv[1][4]), { order: 'm1', from: 'lab-1', to: 'lab-2', outcome: 'done' })
  } finally {
    await local.close()
  }
})

test('without the relay hook, reassignment answers 501', async () => {
  const res = await fetch(`${server.url}/api/admin/orders/a1/reassign`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"lab":"lab-2"}',
  })
  const local = await startAdminServer()
  try {
    const none = await fetch(`${local.url}/api/admin/orders/a1/reassign`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"lab":"lab-2"}',
    })
    assert.is(none.status, 501)
    assert.equal(await none.json(), { error: 'reassignment is not available' })
  } finally {
    await local.close()
  }
  assert.is(res.status, 501) // the shared server has no reassign either
})

// ---------------------------------------------------------------- CSV

const HOSTILE = [
  'plain', 'comma, inside', 'quote " inside', '"quoted"', 'line\nbreak', 'crlf\r\nbreak', '=1+1', '+SUM(A1:A9)', '-2+3',
  '@cmd', '\tTAB', '\rCR', "=HYPERLINK(\"http://evil.example\",\"click\")", '=cmd|\' /C calc\'!A0', 'ümlaut, 日本語 "x"\n=y',
]
/** What a cell must read after parsing: formula starts defused with a leading apostrophe. */
const defused = (value: string) => (/^[=+\-@\t\r\n]/.test(value) ? `'${value}` : value)
  .replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') // control characters are written escaped

test('hostile names in CSV round-trip through an RFC 4180 parser, formulas defused', async () => {
  const local = await startAdminServer()
  try {
    HOSTILE.forEach((name, i) => {
      local.receptions.record(reception({
        order: `h${i}`, user: name, front: name, lab: name, error: name, receivedAt: at(MAY_1 + i * 1000),
        discount: { previousOrder: name, previousReceivedAt: at(MAY_1).toISOString(), within: 'P7D', amount: 50 },
      }), [])
    })
    local.history.record('lab-1', HOSTILE.map((name, i) => historyEntry({ id: `${name}#${i}`, order: `h${i}`, printer: name, job: name, status: name, printedAt: at(MAY_1 + i * 1000).toISOString() })), at(MAY_1 + DAY))

    const res = await get(local.url, '/api/admin/receipts?format=csv')
    assert.is(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/)
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="labsync-receipts-\d{8}T\d{6}Z\.csv"$/)
    const text = await res.text()
    assert.ok(text.endsWith('\r\n'))
    const [header, ...rows] = parseCsv(text)
    const col = (name: string) => header.indexOf(name)
    assert.is(rows.length, HOSTILE.length)
    rows.forEach((row, i) => {
      assert.is(row.length, header.length, `row ${i} has every column`)
      for (const name of ['user', 'front', 'lab', 'error', 'discountPreviousOrder']) assert.is(row[col(name)], defused(HOSTILE[i]), `${name} of row ${i}`)
      assert.is(row[col('order')], `h${i}`)
      assert.is(row[col('discountApplied')], '50') // numbers stay numbers
      assert.is(row[col('total')], '120')
    })
    // JSON gives the names as they are.
    const { body } = await json<Page<ReceiptRow>>(local.url, '/api/admin/receipts?limit=1000')
    assert.equal(body.rows.map((r) => r.front), HOSTILE)

    const [hHeader, ...hRows] = parseCsv(await (await get(local.url, '/api/admin/history?format=csv')).text())
    assert.is(hRows.length, HOSTILE.length)
    hRows.forEach((row, i) => {
      for (const name of ['printer', 'job', 'status', 'user', 'front']) assert.is(row[hHeader.indexOf(name)], defused(HOSTILE[i]), `${name} of row ${i}`)
      assert.is(row[hHeader.indexOf('id')], `${defused(HOSTILE[i])}#${i}`)
    })
    // Filtering by a hostile value works like any other.
    assert.equal((await json<Page<ReceiptRow>>(local.url, `/api/admin/receipts?front=${encodeURIComponent(HOSTILE[4])}`)).body.rows.map((r) => r.order), ['h4'])
  } finally {
    await local.close()
  }
})

// ---------------------------------------------------------------- paging

test('paging across 10,000 history rows with tied times: every row once, in order, JSON and CSV alike', async () => {
  const local = await startAdminServer()
  try {
    local.receptions.record(reception({ order: 'p', receivedAt: at(MAY_1) }), [])
    // Seven entries per millisecond, ids not in insertion order: the id breaks ties.
    const entries = Array.from({ length: 10_000 }, (_, i) => historyEntry({
      id: `e${String((i * 7919) % 10_000).padStart(5, '0')}`, order: 'p', item: i, printedAt: at(MAY_1 + Math.floor(i / 7)).toISOString(),
    }))
    assert.is(await local.history.record('lab-1', entries, at(MAY_1 + DAY)), 10_000)
    const expected = entries
      .map((e) => ({ id: e.id, t: Date.parse(e.printedAt) }))
      .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((e) => e.id)

    for (const [limit, query] of [[1000, ''], [333, `&since=${encodeURIComponent(at(MAY_1).toISOString())}`]] as const) {
      const seen: string[] = []
      let after: string | null = null
      let pages = 0
      do {
        const path: string = `/api/admin/history?limit=${limit}${query}${after ? `&after=${after}` : ''}`
        const { status, body } = await json<Page<HistoryRow>>(local.url, path)
        assert.is(status, 200)
        assert.ok(body.rows.length <= limit)
        seen.push(...body.rows.map((r) => r.id))
        after = body.next
        pages++
      } while (after)
      assert.is(pages, Math.ceil(10_000 / limit))
      assert.is(seen.length, 10_000)
      assert.is(new Set(seen).size, 10_000)
      assert.equal(seen, expected)
    }
    // The default page is 100 rows.
    assert.is((await json<Page<HistoryRow>>(local.url, '/api/admin/history')).body.rows.length, 100)
    // CSV streams everything, read in statements of 1,000 rows whose borders fall inside ties.
    const [, ...rows] = parseCsv(await (await get(local.url, '/api/admin/history?format=csv')).text())
    assert.equal(rows.map((r) => r[1]), expected)
    const [, ...five] = parseCsv(await (await get(local.url, '/api/admin/history?format=csv&limit=5')).text())
    assert.equal(five.map((r) => r[1]), expected.slice(0, 5))
  } finally {
    await local.close()
  }
})

test('paging across 10,000 receipts received in the same few milliseconds', async () => {
  const local = await startAdminServer()
  try {
    local.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) local.receptions.record(reception({ order: `r${i}`, user: `u${i % 3}`, receivedAt: at(MAY_1 + (i % 4)) }), [])
    })()
    const expected = Array.from({ length: 10_000 }, (_, i) => ({ order: `r${i}`, t: i % 4, seq: i + 1 }))
      .sort((a, b) => a.t - b.t || a.seq - b.seq).map((r) => r.order)
    const seen: string[] = []
    let after: string | null = null
    do {
      const path: string = `/api/admin/receipts?limit=777${after ? `&after=${after}` : ''}`
      const { body } = await json<Page<ReceiptRow>>(local.url, path)
      seen.push(...body.rows.map((r) => r.order))
      after = body.next
    } while (after)
    assert.equal(seen, expected)
    // Filtered paging keeps the filter's order too.
    const u1: string[] = []
    after = null
    do {
      const path: string = `/api/admin/receipts?user=u1&limit=1000${after ? `&after=${after}` : ''}`
      const { body } = await json<Page<ReceiptRow>>(local.url, path)
      u1.push(...body.rows.map((r) => r.order))
      after = body.next
    } while (after)
    assert.equal(u1, expected.filter((order) => Number(order.slice(1)) % 3 === 1))
  } finally {
    await local.close()
  }
})

test.run()
