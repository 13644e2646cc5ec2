// Issue 13, order intake: a malformed order is rejected with a reason (never priced, never a
// crash); an admin moves an order its lab could not print; a cancelled order never gives a
// discount (the orders citing it are priced again; a cancel cited by an order at the printer is
// refused); a relay clock stepped back keeps receptions in order and the discount right.
// A real relay in this process (createRelay, as bin/labsync runs it) with a clock the test steps,
// real SQLite, stock y-websocket clients over 127.0.0.1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { createRelay, type Relay } from '../../relay/server.ts'
import { parseConfig, publicCatalog } from '../../relay/config.ts'
import { Intake } from '../../relay/orders/intake.ts'
import { SqliteReceptionStore } from '../../relay/store/receptions-sqlite.ts'
import type { RoomsOptions } from '../../sync-server/rooms.ts'
import { writeSpec, type OrderItem, type Receipt } from '../../shared/schema.ts'
import {
  connect, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir, permissionDenials,
} from '../helpers/relay.ts'

const CONFIG = parseConfig({
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} },
    { id: 'lab-2', name: 'North lab', key: 'lab-2-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] }],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 300 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
})
const START = Date.parse('2026-07-01T09:00:00Z')

interface TestRelay { relay: Relay; url: string; wsUrl: string; dataDir: string; clock: { ms: number } }

const dirs: string[] = []
const providers: Array<{ destroy(): void }> = []
let current: TestRelay | null = null

test.after.each(async () => {
  for (const p of providers.splice(0)) p.destroy()
  if (current) {
    await current.relay.close()
    // createRelay's close() leaves the document writer thread running, which keeps this process
    // alive after its tests (relay/server.ts should await the store's close() too).
    await ((current.relay.rooms as unknown as { options: RoomsOptions }).options.store as unknown as { close?: () => Promise<void> }).close?.()
  }
  current = null
})
test.after(() => { for (const d of dirs) removeDir(d) })

/**
 * A relay whose clock is `clock.ms` (moves only when the test moves it). Its rooms get the
 * intake's beforeWrite hook exactly as relay/server.ts is to wire it
 * (`hooks.beforeWrite = (room, principal, shape) => intake.beforeWrite(room, principal, shape)`);
 * `??=` keeps server.ts's own once it is there.
 */
async function startRelay(): Promise<TestRelay> {
  const dataDir = tempDir()
  dirs.push(dataDir)
  const clock = { ms: START }
  const now = () => clock.ms
  const relay = await createRelay({ config: CONFIG, dataDir, port: 0, now, idleUnloadMs: 60_000 })
  const intake = new Intake({ rooms: relay.rooms, receptions: new SqliteReceptionStore(relay.sqlite!), catalog: publicCatalog(CONFIG), now, imageUploaded: () => true })
  const hooks = (relay.rooms as unknown as { options: RoomsOptions }).options.hooks
  hooks.beforeWrite ??= (room, principal, shape) => intake.beforeWrite(room, principal, shape)
  current = { relay, url: relay.url, wsUrl: relay.url.replace(/^http/, 'ws'), dataDir, clock }
  return current
}

async function customer(t: TestRelay) {
  const account = await signUp(t.url)
  const photo = await uploadPhoto(t.url, account.token, await makePhoto(Math.floor(Math.random() * 100_000)))
  return { ...account, photo }
}
type Customer = Awaited<ReturnType<typeof customer>>

function client(t: TestRelay, room: string, token: string) {
  const c = connect(t, room, token)
  providers.push(c.provider)
  return c
}

/** A synced client on a new order, for the test to write into. */
async function orderClient(t: TestRelay, who: Customer, orderId = newOrderId()) {
  const c = client(t, `order/${orderId}`, who.token)
  await synced(c.provider)
  return { orderId, ...c, denials: permissionDenials(c.provider) }
}

async function submit(t: TestRelay, who: Customer, items: OrderItem[] = [{ image: who.photo, product: 'L', qty: 2 }]) {
  const c = await orderClient(t, who)
  writeSpec(c.doc, { id: c.orderId, user: who.userId, front: 'store-1', createdAt: new Date(t.clock.ms).toISOString(), state: 'draft', items })
  c.doc.getMap('spec').set('state', 'submitted')
  return { ...c, receipt: await receiptOf(c.doc) }
}

const receiptOf = (doc: Y.Doc) => waitFor(() => (doc.getMap('receipt').get('status') ? doc.getMap('receipt').toJSON() as Receipt : null), 'the receipt', 10_000)

/** A draft written field by field, then `edit` (the malformation), then submitted. */
async function submitMalformed(t: TestRelay, who: Customer, edit: (spec: Y.Map<unknown>) => void) {
  const c = await orderClient(t, who)
  // One transaction: the relay never sees the well-formed draft (a draft's id cannot be changed).
  c.doc.transact(() => {
    writeSpec(c.doc, { id: c.orderId, user: who.userId, front: 'store-1', createdAt: new Date(t.clock.ms).toISOString(), state: 'draft', items: [{ image: who.photo, product: 'L', qty: 1 }] })
    edit(c.doc.getMap('spec'))
  })
  c.doc.getMap('spec').set('state', 'submitted')
  return c
}

function receptionRow(t: TestRelay, order: string): Record<string, unknown> | undefined {
  const db = new Database(join(t.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT * FROM receptions WHERE order_id = ?').get(order) as Record<string, unknown> | undefined
  } finally {
    db.close()
  }
}

async function labQueue(t: TestRelay, lab: string): Promise<Y.Map<unknown>> {
  const c = client(t, `lab/${lab}`, `${lab}-secret`)
  await synced(c.provider)
  return c.doc.getMap('queue')
}

/** The lab writes progress into an order assigned to it, and waits until it is stored. */
async function labProgress(t: TestRelay, lab: string, orderId: string, status: string): Promise<void> {
  const c = client(t, `order/${orderId}`, `${lab}-secret`)
  await synced(c.provider)
  c.doc.transact(() => {
    const progress = c.doc.getMap('progress')
    progress.set('status', status)
    progress.set('updatedAt', new Date(t.clock.ms).toISOString())
  })
  await waitFor(() => receptionRow(t, orderId)?.progress === status, `progress ${status} noted by the relay`)
}

const reassign = (t: TestRelay, orderId: string, lab: string) => fetch(`${t.url}/api/admin/orders/${orderId}/reassign`, {
  method: 'POST', headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' }, body: JSON.stringify({ lab }),
})

// ---------------------------------------------------------------- what the relay accepts, the lab can print

test('malformed orders get a rejected receipt with the reason, are never priced nor queued', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const cases: Array<[string, (spec: Y.Map<unknown>) => void, RegExp]> = [
    ['items as plain objects in a Y.Array', (spec) => {
      const items = new Y.Array<unknown>()
      items.push([{ image: me.photo, product: 'L', qty: 1 }])
      spec.set('items', items)
    }, /Print 1 is not in the form/],
    ['items as a plain JSON array', (spec) => spec.set('items', [{ image: me.photo, product: 'L', qty: 1 }]), /prints are not in the form/],
    ['no spec.id', (spec) => spec.delete('id'), /does not match the order/],
    ['front as an object', (spec) => spec.set('front', { id: 'store-1' }), /choose the store/],
    ['qty as a string', (spec) => (spec.get('items') as Y.Array<Y.Map<unknown>>).get(0).set('qty', '1'), /number of copies/],
    ['a huge createdAt', (spec) => spec.set('createdAt', 'x'.repeat(200_000)), /creation date/],
  ]
  const orders = []
  for (const [name, edit, reason] of cases) orders.push({ name, reason, ...(await submitMalformed(t, me, edit)) })
  const queue = await labQueue(t, 'lab-1')
  for (const { name, reason, doc, orderId } of orders) {
    const receipt = await receiptOf(doc).catch((error: Error) => { throw new Error(`${name}: ${error.message}`) })
    assert.is(receipt.status, 'rejected', name)
    assert.match(receipt.error ?? '', reason, name)
    assert.ok((receipt.error ?? '').length < 1000, `${name}: the reason is short`)
    assert.is(receipt.total, 0, name)
    assert.equal(receipt.lines, [], name)
    assert.is(receptionRow(t, orderId)?.status, 'rejected', name)
    assert.not.ok(queue.has(orderId), `${name}: not in the lab's queue`)
  }
  // The intake is still alive: a good order after all of these is priced.
  assert.is((await submit(t, me)).receipt.status, 'accepted')
})

// ---------------------------------------------------------------- reassigning what a lab could not print

test('an admin moves an order its lab reported failed (or held) to another lab, which starts afresh', async () => {
  const t = await startRelay()
  const me = await customer(t)
  for (const status of ['failed', 'held']) {
    const order = await submit(t, me)
    await labProgress(t, 'lab-1', order.orderId, status)
    const res = await reassign(t, order.orderId, 'lab-2')
    assert.is(res.status, 200, `${status}: ${await res.clone().text()}`)
    await waitFor(() => order.doc.getMap('receipt').get('lab') === 'lab-2', 'the receipt to name lab-2')
    await waitFor(() => order.doc.getMap('progress').size === 0, `lab-1's ${status} progress cleared for lab-2`)
    const queue2 = await labQueue(t, 'lab-2')
    assert.ok(queue2.has(order.orderId), `${status}: in lab-2's queue`)
    assert.not.ok((await labQueue(t, 'lab-1')).has(order.orderId), `${status}: gone from lab-1's queue`)
    assert.is(receptionRow(t, order.orderId)?.progress, null)
  }
})

test('an order at the printer (printing, ready) cannot be moved', async () => {
  const t = await startRelay()
  const me = await customer(t)
  for (const status of ['printing', 'ready']) {
    const order = await submit(t, me)
    await labProgress(t, 'lab-1', order.orderId, status)
    const res = await reassign(t, order.orderId, 'lab-2')
    assert.is(res.status, 409, `${status}: ${res.status} ${await res.clone().text()}`)
    assert.match(await res.text(), new RegExp(status))
    assert.is(receptionRow(t, order.orderId)?.lab, 'lab-1')
  }
})

// ---------------------------------------------------------------- a cancelled order never gives a discount

test('cancelling order A re-prices order B that cited it: B pays in full', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const a = await submit(t, me)
  t.clock.ms += 3_600_000
  const b = await submit(t, me)
  assert.is(b.receipt.discount?.previousOrder, a.orderId)
  assert.is(b.receipt.total, 100, '80 - 80 + 100: the lab\'s 300 clamped to its prints, the fee charged (issue 16)')
  a.doc.getMap('spec').set('state', 'cancelled')
  await waitFor(() => b.doc.getMap('receipt').get('discount') === null, 'B priced again without A')
  const repriced = b.doc.getMap('receipt').toJSON() as Receipt
  assert.is(repriced.total, 180)
  assert.equal(repriced.lines.map((line) => line.kind), ['print', 'fee'])
  assert.is(repriced.receivedAt, b.receipt.receivedAt, 'still received when it was')
  const row = receptionRow(t, b.orderId)!
  assert.is(row.discount_order, null)
  assert.is(row.total, 180)
})

test('the re-priced order keeps a discount from another order that still qualifies', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const first = await submit(t, me)
  t.clock.ms += 3_600_000
  const a = await submit(t, me)
  t.clock.ms += 3_600_000
  const b = await submit(t, me)
  assert.is(b.receipt.discount?.previousOrder, a.orderId)
  a.doc.getMap('spec').set('state', 'cancelled')
  await waitFor(() => (b.doc.getMap('receipt').get('discount') as Receipt['discount'])?.previousOrder === first.orderId, 'B citing the first order')
  assert.is((b.doc.getMap('receipt').get('total')), 100, 'the prints discounted again, the fee charged')
})

test('the customer cannot cancel an order cited by an order already printing', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const a = await submit(t, me)
  t.clock.ms += 3_600_000
  const b = await submit(t, me)
  assert.is(b.receipt.discount?.previousOrder, a.orderId)
  await labProgress(t, 'lab-1', b.orderId, 'printing')
  const device = await orderClient(t, me, a.orderId)
  device.doc.getMap('spec').set('state', 'cancelled')
  await waitFor(() => device.denials.length > 0, 'the cancel to be refused')
  assert.match(device.denials[0], new RegExp(`${b.orderId}.*being printed`))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const fresh = client(t, `order/${a.orderId}`, me.token)
  await synced(fresh.provider)
  assert.is(fresh.doc.getMap('spec').get('state'), 'submitted', 'A is not cancelled')
  assert.is(receptionRow(t, a.orderId)?.status, 'accepted')
  assert.is((b.doc.getMap('receipt').get('discount') as Receipt['discount'])?.previousOrder, a.orderId, 'B keeps its price')
})

test('an order cited only by orders not yet printing may be cancelled', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const a = await submit(t, me)
  t.clock.ms += 3_600_000
  const b = await submit(t, me)
  await labProgress(t, 'lab-1', b.orderId, 'held')
  a.doc.getMap('spec').set('state', 'cancelled')
  await waitFor(() => receptionRow(t, a.orderId)?.status === 'cancelled', 'A cancelled')
  await waitFor(() => b.doc.getMap('receipt').get('discount') === null, 'B priced again')
  assert.equal(a.denials, [])
})

// ---------------------------------------------------------------- a clock stepped back

test('a relay clock stepped back keeps receptions in order and the discount', async () => {
  const t = await startRelay()
  const me = await customer(t)
  const a = await submit(t, me)
  t.clock.ms -= 2 * 3_600_000 // NTP, a restored VM: two hours back
  const b = await submit(t, me)
  assert.ok(Date.parse(b.receipt.receivedAt) >= Date.parse(a.receipt.receivedAt), `B ${b.receipt.receivedAt} not before A ${a.receipt.receivedAt}`)
  assert.is(b.receipt.discount?.previousOrder, a.orderId, 'B is a repeat of A')
  assert.ok((receptionRow(t, b.orderId)!.seq as number) > (receptionRow(t, a.orderId)!.seq as number))
  t.clock.ms += 4 * 3_600_000 // the clock catches up and runs on
  const c = await submit(t, me)
  assert.is(c.receipt.discount?.previousOrder, b.orderId)
  assert.is(c.receipt.receivedAt, new Date(t.clock.ms).toISOString(), 'the clock is used again once it is past')
})

test.run()
