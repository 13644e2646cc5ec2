// The same order reads the same everywhere (issue 16 point 7), in the admin API over a real SQLite
// database: the customer's name and e-mail on each receipt row and search by e-mail, totals for the
// filtered period (revenue, the lab's and the stores' discounts as negative sums), the CSV counting
// items from 1 with each print's size, and discounts negative in the CSV as on the receipt.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DailyReport, HistoryRow, Page, ReceiptRow } from '../../shared/audit.ts'
import { parseCsv } from '../helpers/csv.ts'
import { ADMIN_TOKEN, get, historyEntry, json, reception, startAdminServer, type AdminServer } from '../helpers/admin.ts'

const MAY_1 = Date.parse('2024-05-01T00:00:00+09:00')
const HOUR = 3_600_000
let server: AdminServer
let aiko = ''

test.before(async () => {
  server = await startAdminServer()
  aiko = (await server.accounts.create('Aiko@Example.test', 'correct horse battery', 'Aiko Tanaka'))!.userId
  const r = server.receptions
  r.record(reception({ order: 'a1', user: aiko, front: 'station', lab: 'lab-1', receivedAt: new Date(MAY_1 + HOUR) }), [])
  // Two deductions on one receipt, as intake writes them: the lab's off the prints, the store's off its fee.
  r.record({
    ...reception({ order: 'a2', user: aiko, front: 'station', lab: 'lab-1', receivedAt: new Date(MAY_1 + 2 * HOUR) }),
    lines: [{ kind: 'print', label: 'L 89x127 mm × 2', amount: 70 }, { kind: 'fee', label: 'Station store service fee', amount: 100 },
      { kind: 'discount', by: 'lab', label: 'Repeat-order discount from Central lab', amount: -70 },
      { kind: 'discount', by: 'front', label: 'Repeat-customer discount from Station store on its fee', amount: -30 }],
    total: 70, pickupFront: 'harbour',
    discount: { previousOrder: 'a1', previousReceivedAt: new Date(MAY_1 + HOUR).toISOString(), within: 'P7D', amount: 200 },
    frontDiscount: { previousOrder: 'a1', previousReceivedAt: new Date(MAY_1 + HOUR).toISOString(), within: 'P1M', amount: 30 },
  }, [])
  r.record(reception({ order: 'b1', user: 'someone-gone', front: 'harbour', lab: 'lab-2', receivedAt: new Date(MAY_1 + 26 * HOUR) }), [])
  server.history.record('lab-1', [historyEntry({ id: 'lab-1:a2-0:1', order: 'a2', item: 0, copies: 2, printedAt: new Date(MAY_1 + 3 * HOUR).toISOString() })], new Date(MAY_1 + 4 * HOUR))
})
test.after(() => server.close())

test('receipt rows carry the customer\'s name and e-mail, the pickup store and the store\'s own discount', async () => {
  const { body } = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts')
  const a2 = body.rows.find((row) => row.order === 'a2')!
  assert.equal([a2.name, a2.email, a2.front, a2.pickupFront, a2.frontDiscount?.amount, a2.discountApplied], ['Aiko Tanaka', 'aiko@example.test', 'station', 'harbour', 30, 100])
  const b1 = body.rows.find((row) => row.order === 'b1')!
  assert.equal([b1.name, b1.email], [null, null], 'no account: nothing invented')
})

test('search by e-mail finds the customer\'s orders, however the e-mail is typed', async () => {
  const { body } = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts?email=AIKO%40example.TEST')
  assert.equal(body.rows.map((row) => row.order), ['a1', 'a2'])
})

test('totals cover the whole filtered period, not one page; discounts negative, the lab\'s and the stores\' apart', async () => {
  const { body } = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts?limit=1')
  assert.is(body.rows.length, 1)
  assert.equal(body.totals, { orders: 3, revenue: 170 + 70 + 70, labDiscount: -70, frontDiscount: -30 })
  const day = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts?until=2024-05-02')
  assert.equal(day.body.totals, { orders: 2, revenue: 240, labDiscount: -70, frontDiscount: -30 })
  const rejected = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts?status=rejected')
  assert.equal(rejected.body.totals, { orders: 0, revenue: 0, labDiscount: 0, frontDiscount: 0 })
})

test('the daily figures count what the receipts took off, both discounts (not a tier\'s amount)', async () => {
  const { body } = await json<DailyReport>(server.url, '/api/admin/daily?since=2024-05-01&until=2024-05-03')
  assert.equal(body.days.map((d) => [d.day, d.orders, d.discounted, d.discountAmount]), [['2024-05-01', 2, 1, 100], ['2024-05-02', 1, 0, 0]])
})

test('CSV: items counted from 1 with their print size; discounts negative as on the receipt; both stores', async () => {
  const history = parseCsv(await (await get(server.url, '/api/admin/history?format=csv', ADMIN_TOKEN)).text())
  const h = Object.fromEntries(history[0].map((name, i) => [name, history[1][i]]))
  assert.equal([h.item, h.size], ['1', 'L 89x127 mm'])
  const { body } = await json<Page<HistoryRow>>(server.url, '/api/admin/history')
  assert.is(body.rows[0].item, 0, 'the JSON keeps the wire\'s count from 0')
  const receipts = parseCsv(await (await get(server.url, '/api/admin/receipts?format=csv', ADMIN_TOKEN)).text())
  const row = Object.fromEntries(receipts[0].map((name, i) => [name, receipts[2][i]]))
  assert.equal([row.order, row.name, row.email, row.front, row.pickupFront, row.labDiscount, row.frontDiscount], ['a2', 'Aiko Tanaka', 'aiko@example.test', 'station', 'harbour', '-70', '-30'])
})

test.run()
