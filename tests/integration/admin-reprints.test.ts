// Reprints reported by a lab, against a real relay process: the lab pushes history into lab/<id>
// as a lab node does (its print, the operator's reprint note, the reprinted job); the relay keeps
// each reprint as such with its reason (cut to its bound), counts its copies as paper printed in the
// daily figures and tells them apart, and no receipt figure (orders, revenue) moves.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { connect, removeDir, startRelay, synced, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOrder } from '../helpers/lab.ts'
import { MAX_REPRINT_REASON, type DailyReport, type Page, type ReceiptRow } from '../../shared/audit.ts'
import { dayOf } from '../../relay/http/admin-query.ts'
import { runAdmin } from '../../admin/cli.ts'
import type { HistoryRow } from '../../shared/audit.ts'

const ADMIN = ONE_LAB_CONFIG.admins[0].token
const LAB_KEY = ONE_LAB_CONFIG.labs[0].key

let relay: RelayProcess
const cleanups: Array<() => void> = []

test.before(async () => {
  relay = await startRelay({ config: ONE_LAB_CONFIG })
})

test.after(async () => {
  for (const done of cleanups) done()
  await relay.kill()
  removeDir(relay.dataDir)
})

async function admin<T>(path: string): Promise<T> {
  const res = await fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })
  assert.is(res.status, 200, path)
  return (await res.json()) as T
}

/** Pushes entries into lab/lab-1 as the lab node does, and waits for the relay's acknowledgement (it removes what it stored). */
async function report(entries: object[]): Promise<void> {
  const lab = connect(relay, 'lab/lab-1', LAB_KEY)
  cleanups.push(() => lab.provider.destroy())
  await synced(lab.provider)
  const history = lab.doc.getArray('history')
  history.push(entries)
  await waitFor(() => history.length === 0, 'the relay to store and acknowledge the history', 10_000)
  lab.provider.destroy()
}

/** The history rows as the relay's database holds them (read-only, beside the running relay). */
function stored(): Array<{ id: string; copies: number; status: string; reprint: number; reason: string | null }> {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT id, copies, status, reprint, reason FROM history ORDER BY printed_at, id').all() as never
  } finally {
    db.close()
  }
}

test('a reprint is kept as such with its reason, counted as paper printed, and never as a new order or revenue', async () => {
  const { orderId } = await placeOrder(relay, [{ product: 'L', qty: 2 }], 7, (done) => cleanups.push(done))
  const before = await admin<Page<ReceiptRow>>('/api/admin/receipts')
  assert.equal(before.totals, { orders: 1, revenue: 80, labDiscount: 0, frontDiscount: 0 })

  const t = Date.now()
  const at = (ms: number) => new Date(t + ms).toISOString()
  const long = `smudged print, ${'x'.repeat(MAX_REPRINT_REASON)}é`
  await report([
    { id: `lab-1:${orderId}:0`, order: orderId, item: 0, printer: 'file:/prints', job: 1, copies: 2, status: 'completed', printedAt: at(0) },
    // The console's note of the operator's request: no copies, so nothing to count.
    { id: `lab-1:${orderId}:reprint`, order: orderId, item: -1, printer: '', job: '', copies: 0, status: 'reprint', printedAt: at(1), reprint: true, reason: 'smudged', items: [0] },
    { id: `lab-1:${orderId}:0:r1`, order: orderId, item: 0, printer: 'file:/prints', job: 2, copies: 2, status: 'completed', printedAt: at(2), reprint: true, reason: long },
    // Additive fields of the wrong type neither make a reprint nor cost the entry.
    { id: `lab-1:${orderId}:0:odd`, order: orderId, item: 0, printer: 'file:/prints', job: 3, copies: 1, status: 'aborted', printedAt: at(3), reprint: 'yes', reason: 42 },
  ])

  assert.equal(stored(), [
    { id: `lab-1:${orderId}:0`, copies: 2, status: 'completed', reprint: 0, reason: null },
    { id: `lab-1:${orderId}:reprint`, copies: 0, status: 'reprint', reprint: 1, reason: 'smudged' },
    { id: `lab-1:${orderId}:0:r1`, copies: 2, status: 'completed', reprint: 1, reason: long.slice(0, MAX_REPRINT_REASON) },
    { id: `lab-1:${orderId}:0:odd`, copies: 1, status: 'aborted', reprint: 0, reason: null },
  ])

  const today = dayOf(t, ONE_LAB_CONFIG.timeZone)
  const daily = await admin<DailyReport>(`/api/admin/daily?since=${today}`)
  const day = daily.days.find((d) => d.day === today)!
  // Paper through the printer: the order's 2 copies and the reprint's 2; of those, 2 were reprints.
  assert.equal(day, { day: today, orders: 1, discounted: 0, discountAmount: 0, prints: { 'lab-1': 4 }, reprints: { 'lab-1': 2 } })

  const after = await admin<Page<ReceiptRow>>('/api/admin/receipts')
  assert.equal(after.totals, before.totals, 'a reprint charges nothing again')
  assert.equal(after.rows, before.rows)
})

test('the history listing says which prints were reprints and why: JSON, the reprint filter, CSV and the CLI', async () => {
  const all = await admin<Page<HistoryRow>>('/api/admin/history')
  const marks = all.rows.map((row) => [row.status, row.copies, row.reprint ?? false, row.reason ?? null])
  assert.equal(marks, [['completed', 2, false, null], ['reprint', 0, true, 'smudged'], ['completed', 2, true, all.rows[2].reason], ['aborted', 1, false, null]])
  assert.is(all.rows[2].reason!.length, MAX_REPRINT_REASON)
  assert.not.ok('reprint' in all.rows[0], 'an order\'s own print keeps the shape it had')
  const reprints = await admin<Page<HistoryRow>>('/api/admin/history?reprint=true')
  assert.equal(reprints.rows.map((row) => row.id), [all.rows[1].id, all.rows[2].id])
  const own = await admin<Page<HistoryRow>>('/api/admin/history?reprint=false')
  assert.equal(own.rows.map((row) => row.id), [all.rows[0].id, all.rows[3].id])
  const refused = await fetch(`${relay.url}/api/admin/history?reprint=maybe`, { headers: { authorization: `Bearer ${ADMIN}` } })
  assert.is(refused.status, 400)

  const csv = (await (await fetch(`${relay.url}/api/admin/history?format=csv`, { headers: { authorization: `Bearer ${ADMIN}` } })).text()).split('\r\n')
  assert.match(csv[0], /,size,reprint,reason$/)
  assert.ok(csv[1].endsWith(',,'), csv[1])
  assert.ok(csv[2].endsWith(',true,smudged'), csv[2])

  let out = ''
  const code = await runAdmin(['history', '--relay', relay.url, '--token', ADMIN, '--reprint', 'true'], { out: (text) => { out += String(text) }, err: () => {} })
  assert.is(code, 0)
  const lines = out.trimEnd().split('\n')
  assert.match(lines[0], /\sReprint$/)
  assert.is(lines.length, 2 + 2)
  assert.ok(lines[2].endsWith('reprint: smudged'), lines[2])
})

test('a day without reprints has no reprints field; a store filter narrows them too', async () => {
  const daily = await admin<DailyReport>('/api/admin/daily?since=2024-05-01&until=2024-05-02')
  assert.equal(daily.days, [{ day: '2024-05-01', orders: 0, discounted: 0, discountAmount: 0, prints: {} }])
  const today = dayOf(Date.now(), ONE_LAB_CONFIG.timeZone)
  const other = await admin<DailyReport>(`/api/admin/daily?since=${today}&front=elsewhere`)
  assert.not.ok(other.days.some((d) => d.reprints), 'no reprints of another store')
  const mine = await admin<DailyReport>(`/api/admin/daily?since=${today}&front=store-1`)
  assert.equal(mine.days.find((d) => d.day === today)!.reprints, { 'lab-1': 2 })
})

test.run()
