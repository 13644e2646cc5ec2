// The receipts listing's totals (issue 18): sums of the discount amounts stored with each reception,
// kept as the relay's own Receptions store records and reprices orders, and sent with the first
// page of a filter only, so paging on never sums the whole filter again.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page, ReceiptRow } from '../../shared/audit.ts'
import type { PriceLine } from '../../shared/schema.ts'
import { json, reception, startAdminServer, type AdminServer } from '../helpers/admin.ts'

const MAY_1 = Date.parse('2024-05-01T00:00:00+09:00')
const HOUR = 3_600_000
const decided = (previousOrder: string, amount: number) => ({ previousOrder, previousReceivedAt: new Date(MAY_1).toISOString(), within: 'P7D', amount })
const lines = (lab: number, front: number): PriceLine[] => [
  { kind: 'print', label: 'L 89x127 mm × 2', amount: 70 }, { kind: 'fee', label: 'Station store service fee', amount: 100 },
  ...(lab ? [{ kind: 'discount' as const, by: 'lab' as const, label: 'Repeat-order discount', amount: -lab }] : []),
  ...(front ? [{ kind: 'discount' as const, by: 'front' as const, label: 'Repeat-customer discount', amount: -front }] : []),
]
let server: AdminServer

test.before(async () => {
  server = await startAdminServer()
  const r = server.receptions
  await r.record(reception({ order: 'o1', receivedAt: new Date(MAY_1 + HOUR) }), [])
  await r.record({ ...reception({ order: 'o2', receivedAt: new Date(MAY_1 + 2 * HOUR) }), lines: lines(70, 30), total: 70, discount: decided('o1', 200), frontDiscount: decided('o1', 30) }, [])
  await r.record({ ...reception({ order: 'o3', receivedAt: new Date(MAY_1 + 3 * HOUR) }), lines: lines(50, 0), total: 120, discount: decided('o2', 50) }, [])
})
test.after(() => server.close())

test('the first page of receipts carries the totals of the whole filter; a later page does not sum them again', async () => {
  const first = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts?limit=1')
  assert.equal(first.body.totals, { orders: 3, revenue: 170 + 70 + 120, labDiscount: -120, frontDiscount: -30 })
  const second = await json<Page<ReceiptRow>>(server.url, `/api/admin/receipts?limit=1&after=${first.body.next}`)
  assert.equal(second.body.rows.map((row) => row.order), ['o2'])
  assert.not.ok('totals' in second.body, 'no totals on a page after the first')
})

test('an order priced again when the order it cited is cancelled changes the totals (the stored amounts follow its lines)', async () => {
  // o1 cancelled: o2 loses both discounts (it cited o1); o3 cites o2, which still counts.
  await server.receptions.cancel('o1', () => ({ lines: lines(0, 0), total: 170, discount: null, frontDiscount: null }))
  const { body } = await json<Page<ReceiptRow>>(server.url, '/api/admin/receipts')
  assert.equal(body.totals, { orders: 2, revenue: 170 + 120, labDiscount: -50, frontDiscount: 0 })
})

test.run()
