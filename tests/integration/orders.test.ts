// Order intake through stock y-websocket clients and a real relay: receptions, receipts with
// priced lines, the repeat discount by tier and scope, exactly-once under races and crashes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { writeSpec, type Receipt, type OrderItem } from '../../shared/schema.ts'
import {
  connect, startRelay, signUp, signIn, synced, waitFor, closed, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir,
  type RelayProcess,
} from '../helpers/relay.ts'

const CONFIG = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
    { id: 'KG', name: 'KG 102x152 mm', widthMm: 102, heightMm: 152, media: 'na_index-4x6_4x6in', price: 60 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: { L: 35 } },
    { id: 'lab-2', name: 'North lab', key: 'lab-2-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'store-2', name: 'Mall store', lab: 'lab-1', fee: 0, roles: ['reception'] },
    { id: 'store-3', name: 'North store', lab: 'lab-2', fee: 50, roles: ['reception'] }],
  discounts: { scope: 'user', tiers: [{ within: 'P1M', amount: 100 }, { within: 'P7D', amount: 200 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

const dirs: string[] = []
const providers: Array<{ destroy(): void }> = []
const relays: RelayProcess[] = []
test.after.each(async () => {
  destroyClients()
  for (const relay of relays.splice(0)) await relay.kill() // a failed test still leaves nothing running
})
test.after(() => { for (const d of dirs) removeDir(d) })

function destroyClients(): void {
  for (const p of providers.splice(0)) p.destroy()
}

async function relayAt(clock: string, config: object = CONFIG, dataDir?: string, env: Record<string, string> = {}): Promise<RelayProcess> {
  const dir = dataDir ?? tempDir()
  if (!dataDir) dirs.push(dir)
  const relay = await startRelay({ config, dataDir: dir, env: { LABSYNC_TEST_CLOCK: clock, ...env } })
  relays.push(relay)
  return relay
}

/** A customer with one uploaded photo. */
async function customer(relay: RelayProcess) {
  const account = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, account.token, await makePhoto(Math.floor(Math.random() * 1000)))
  return { ...account, photo }
}

/** Composes an order on a stock client and submits it; returns the client to watch the receipt. */
async function submitOrder(relay: RelayProcess, who: { userId: string; token: string; photo: string }, opts: { front?: string; items?: OrderItem[]; orderId?: string } = {}) {
  const orderId = opts.orderId ?? newOrderId()
  const { doc, provider } = connect(relay, `order/${orderId}`, who.token)
  providers.push(provider)
  await synced(provider).catch((error: Error) => { throw new Error(`${error.message}\nrelay said:\n${relay.output()}`) })
  writeSpec(doc, {
    id: orderId, user: who.userId, front: opts.front ?? 'store-1', createdAt: new Date().toISOString(), state: 'draft',
    items: opts.items ?? [{ image: who.photo, product: 'L', qty: 2 }],
  })
  doc.getMap('spec').set('state', 'submitted')
  return { orderId, doc, provider }
}

/** The relay's final word on an order: accepted or rejected (not `waiting` for photos). */
const receiptOf = (doc: Y.Doc) => waitFor(() => {
  const status = doc.getMap('receipt').get('status')
  return status && status !== 'waiting' ? doc.getMap('receipt').toJSON() as Receipt : null
}, 'the receipt', 10_000)

function receptionRows(relay: RelayProcess, order?: string): Array<Record<string, unknown>> {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return order === undefined ? db.prepare('SELECT * FROM receptions').all() as Array<Record<string, unknown>>
      : db.prepare('SELECT * FROM receptions WHERE order_id = ?').all(order) as Array<Record<string, unknown>>
  } finally {
    db.close()
  }
}

test('a first order pays in full: lab price per print, the store fee, no discount', async () => {
  const relay = await relayAt('2026-01-10T10:00:00+09:00')
  try {
    const me = await customer(relay)
    const { doc } = await submitOrder(relay, me)
    const receipt = await receiptOf(doc)
    assert.is(receipt.status, 'accepted')
    assert.equal(receipt.lines, [
      { kind: 'print', label: receipt.lines[0].label, amount: 70 },
      { kind: 'fee', label: receipt.lines[1].label, amount: 100 },
    ])
    assert.is(receipt.total, 170)
    assert.is(receipt.discount, null)
    assert.is(receipt.lab, 'lab-1')
    assert.is(receipt.currency, 'JPY')
    assert.is(receipt.receivedAt.slice(0, 10), '2026-01-10')
  } finally { await relay.stop() }
})

test('repeats get the shortest tier that holds the previous order, then none outside all tiers', async () => {
  const dir = tempDir(); dirs.push(dir)
  let relay = await relayAt('2026-01-10T10:00:00+09:00', CONFIG, dir)
  const me = await customer(relay)
  const first = await submitOrder(relay, me)
  assert.is((await receiptOf(first.doc)).discount, null)
  await relay.stop()
  destroyClients()

  relay = await relayAt('2026-01-15T10:00:00+09:00', CONFIG, dir) // 5 days later: P7D
  const second = await submitOrder(relay, me)
  const r2 = await receiptOf(second.doc)
  assert.equal(r2.discount, { previousOrder: first.orderId, previousReceivedAt: r2.discount!.previousReceivedAt, within: 'P7D', amount: 200 })
  assert.is(r2.total, 100, '70 - 70 + 100: the lab\'s 200 is clamped to its prints; the store\'s fee is never discounted by it')
  assert.is(r2.lines.reduce((sum, line) => sum + line.amount, 0), r2.total, 'the lines add up to the total')
  await relay.stop()
  destroyClients()

  relay = await relayAt('2026-02-01T10:00:00+09:00', CONFIG, dir) // 17 days after the second: P1M
  const third = await submitOrder(relay, me, { items: [{ image: me.photo, product: 'KG', qty: 5 }] })
  const r3 = await receiptOf(third.doc)
  assert.is(r3.discount?.within, 'P1M')
  assert.is(r3.discount?.previousOrder, second.orderId)
  assert.is(r3.total, 300 + 100 - 100, 'product price (no lab price for KG), fee, minus 100')
  await relay.stop()
  destroyClients()

  relay = await relayAt('2026-04-01T10:00:00+09:00', CONFIG, dir) // two months later: outside all tiers
  me.token = (await signIn(relay.url, me.email)).token // the first session expired after 30 days
  const fourth = await submitOrder(relay, me)
  assert.is((await receiptOf(fourth.doc)).discount, null)
  await relay.stop()
})

test('scope front counts only previous orders through the same store', async () => {
  const config = { ...CONFIG, discounts: { scope: 'front', tiers: [{ within: 'P7D', amount: 30 }] } }
  const relay = await relayAt('2026-03-01T09:00:00Z', config)
  try {
    const me = await customer(relay)
    await receiptOf((await submitOrder(relay, me, { front: 'store-1' })).doc)
    const other = await receiptOf((await submitOrder(relay, me, { front: 'store-2' })).doc)
    assert.is(other.discount, null, 'another store does not count')
    const same = await receiptOf((await submitOrder(relay, me, { front: 'store-1' })).doc)
    assert.is(same.discount?.amount, 30)
  } finally { await relay.stop() }
})

test('scope lab counts previous orders printed by the same lab, whichever store', async () => {
  const config = { ...CONFIG, discounts: { scope: 'lab', tiers: [{ within: 'P7D', amount: 30 }] } }
  const relay = await relayAt('2026-03-01T09:00:00Z', config)
  try {
    const me = await customer(relay)
    await receiptOf((await submitOrder(relay, me, { front: 'store-1' })).doc)
    const otherLab = await receiptOf((await submitOrder(relay, me, { front: 'store-3' })).doc)
    assert.is(otherLab.discount, null, 'lab-2 has no previous order')
    const sameLab = await receiptOf((await submitOrder(relay, me, { front: 'store-2' })).doc)
    assert.is(sameLab.discount?.amount, 30, 'store-2 is also lab-1')
  } finally { await relay.stop() }
})

test('scope user: another customer\'s orders never count', async () => {
  const relay = await relayAt('2026-03-01T09:00:00Z')
  try {
    const alice = await customer(relay)
    const bob = await customer(relay)
    await receiptOf((await submitOrder(relay, alice)).doc)
    assert.is((await receiptOf((await submitOrder(relay, bob)).doc)).discount, null)
  } finally { await relay.stop() }
})

test('two orders submitted at the same moment from two devices: exactly one counts as previous, the same after a restart', async () => {
  const dir = tempDir(); dirs.push(dir)
  let relay = await relayAt('2026-05-01T09:00:00Z', CONFIG, dir)
  const me = await customer(relay)
  const phone = await submitOrder(relay, me)
  const tablet = await submitOrder(relay, me)
  const receipts = [await receiptOf(phone.doc), await receiptOf(tablet.doc)]
  const discounted = receipts.filter((r) => r.discount !== null)
  assert.is(discounted.length, 1, 'exactly one of the two is a repeat')
  const [winner] = discounted
  assert.ok([phone.orderId, tablet.orderId].includes(winner.discount!.previousOrder))
  await relay.stop()
  relay = await relayAt('2026-05-01T09:05:00Z', CONFIG, dir)
  const again = connect(relay, `order/${phone.orderId}`, me.token)
  providers.push(again.provider)
  await synced(again.provider)
  assert.equal(again.doc.getMap('receipt').toJSON(), receipts[0], 'the decision is kept, not recomputed')
  await relay.stop()
})

test('the same order submitted from two devices is received once', async () => {
  const relay = await relayAt('2026-05-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const orderId = newOrderId()
    const phone = connect(relay, `order/${orderId}`, me.token)
    providers.push(phone.provider)
    await synced(phone.provider)
    writeSpec(phone.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: [{ image: me.photo, product: 'L', qty: 1 }] })
    const tablet = connect(relay, `order/${orderId}`, me.token)
    providers.push(tablet.provider)
    await waitFor(() => tablet.doc.getMap('spec').get('state') === 'draft', 'the draft on the tablet')
    phone.doc.getMap('spec').set('state', 'submitted')
    tablet.doc.getMap('spec').set('state', 'submitted')
    await receiptOf(phone.doc)
    await receiptOf(tablet.doc)
    await new Promise((r) => setTimeout(r, 300))
    assert.is(receptionRows(relay, orderId).length, 1)
  } finally { await relay.stop() }
})

test('a relay SIGKILLed between submit and receipt receives the order once after restart', async () => {
  const dir = tempDir(); dirs.push(dir)
  let relay = await relayAt('2026-06-01T09:00:00Z', CONFIG, dir, { LABSYNC_TEST_INTAKE_DELAY_MS: '60000' })
  const me = await customer(relay)
  const { orderId, doc, provider } = await submitOrder(relay, me)
  await waitFor(() => provider.synced && doc.getMap('spec').get('state') === 'submitted', 'the submit to be sent')
  await new Promise((r) => setTimeout(r, 300)) // stored and echoed; intake is still waiting
  assert.is(receptionRows(relay, orderId).length, 0, 'not received yet')
  await relay.kill()
  provider.destroy()
  relay = await relayAt('2026-06-01T09:00:05Z', CONFIG, dir) // nobody reconnects: the relay resumes by itself
  const watcher = connect(relay, `order/${orderId}`, me.token)
  providers.push(watcher.provider)
  const receipt = await receiptOf(watcher.doc)
  assert.is(receipt.status, 'accepted')
  assert.is(receptionRows(relay, orderId).length, 1)
  await relay.stop()
})

test('an order with an unknown product is rejected with a reason the customer can read', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const { doc } = await submitOrder(relay, me, { items: [{ image: me.photo, product: 'POSTER', qty: 1 }] })
    const receipt = await receiptOf(doc)
    assert.is(receipt.status, 'rejected')
    assert.match(receipt.error ?? '', /POSTER/)
    assert.is(receipt.total, 0)
  } finally { await relay.stop() }
})

test('an order whose photos are not uploaded yet waits, and is received when they arrive', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const later = await makePhoto(4242)
    const { sha256Hex } = await import('../helpers/relay.ts')
    const { doc } = await submitOrder(relay, me, { items: [{ image: sha256Hex(later), product: 'L', qty: 1 }] })
    await waitFor(() => doc.getMap('receipt').get('status') === 'waiting', 'the waiting receipt')
    assert.equal(doc.getMap('receipt').get('missing'), [sha256Hex(later)], 'the receipt names the photo still missing')
    assert.is(doc.getMap('receipt').get('total'), undefined, 'no price while waiting')
    await uploadPhoto(relay.url, me.token, later)
    const receipt = await receiptOf(doc)
    assert.is(receipt.status, 'accepted')
    assert.is(receipt.receivedAt.slice(0, 16), '2026-06-01T09:00', 'received when first submitted')
    assert.is(receipt.missing, undefined, 'nothing missing any more')
  } finally { await relay.stop() }
})

test('the order waits in its lab\'s queue; only that lab may then open it', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const { orderId, doc } = await submitOrder(relay, me)
    await receiptOf(doc)
    const lab = connect(relay, 'lab/lab-1', 'lab-1-secret')
    providers.push(lab.provider)
    await waitFor(() => lab.doc.getMap('queue').get(orderId), 'the order in lab-1\'s queue')
    const otherLab = connect(relay, `order/${orderId}`, 'lab-2-secret')
    providers.push(otherLab.provider)
    assert.is((await closed(otherLab.provider)).code, 4403)
    const assigned = connect(relay, `order/${orderId}`, 'lab-1-secret')
    providers.push(assigned.provider)
    await synced(assigned.provider)
    assert.is(assigned.doc.getMap('spec').get('user'), me.userId)
    assert.is(assigned.doc.getMap('receipt').get('status'), 'accepted')
  } finally { await relay.stop() }
})

test('a customer cancels before printing: the order leaves the queue and no longer counts for discounts', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const first = await submitOrder(relay, me)
    await receiptOf(first.doc)
    first.doc.getMap('spec').set('state', 'cancelled')
    const lab = connect(relay, 'lab/lab-1', 'lab-1-secret')
    providers.push(lab.provider)
    await synced(lab.provider)
    await waitFor(() => !lab.doc.getMap('queue').has(first.orderId), 'the cancelled order to leave the queue')
    const second = await submitOrder(relay, me)
    assert.is((await receiptOf(second.doc)).discount, null)
  } finally { await relay.stop() }
})

test('an admin moves an order of a lab that is down to another lab; the move is in the audit log', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  const me = await customer(relay)
  const { orderId, doc } = await submitOrder(relay, me)
  await receiptOf(doc)
  const res = await fetch(`${relay.url}/api/admin/orders/${orderId}/reassign`, {
    method: 'POST', headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' }, body: JSON.stringify({ lab: 'lab-2' }),
  })
  assert.is(res.status, 200, await res.clone().text())
  await waitFor(() => doc.getMap('receipt').get('lab') === 'lab-2', 'the receipt to name lab-2')
  const lab2 = connect(relay, 'lab/lab-2', 'lab-2-secret')
  const lab1 = connect(relay, 'lab/lab-1', 'lab-1-secret')
  providers.push(lab1.provider, lab2.provider)
  await Promise.all([synced(lab1.provider), synced(lab2.provider)])
  assert.ok(lab2.doc.getMap('queue').has(orderId), 'in lab-2\'s queue')
  assert.not.ok(lab1.doc.getMap('queue').has(orderId), 'gone from lab-1\'s queue')
  const photo = await fetch(`${relay.url}/api/images/${me.photo}`, { headers: { authorization: 'Bearer lab-2-secret' } })
  assert.is(photo.status, 200, 'lab-2 may now fetch the photo')
  const { execFileSync } = await import('node:child_process')
  const csv = execFileSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'labsync'), 'admin', 'audit', '--relay', relay.url, '--token', 'admin-secret', '--format', 'csv'], { encoding: 'utf8' })
  assert.match(csv, /order\.reassign/)
  assert.match(csv, new RegExp(orderId))
})

test('a cancelled order gives no discount: the order that cited it is priced again at once', async () => {
  const relay = await relayAt('2026-06-01T09:00:00Z')
  try {
    const me = await customer(relay)
    const throwaway = await submitOrder(relay, me)
    await receiptOf(throwaway.doc)
    const real = await submitOrder(relay, me, { items: [{ image: me.photo, product: 'KG', qty: 1 }] })
    const before = await receiptOf(real.doc)
    assert.is(before.discount?.previousOrder, throwaway.orderId)
    assert.is(before.total, 100, '60 - 60 + 100: clamped to the prints, the fee stays')
    throwaway.doc.getMap('spec').set('state', 'cancelled')
    await waitFor(() => real.doc.getMap('receipt').get('discount') === null, 'the second order priced again')
    assert.is(real.doc.getMap('receipt').get('total'), 160)
    assert.is(receptionRows(relay, real.orderId)[0].total, 160)
  } finally { await relay.stop() }
})

test('a relay restarted with its clock set back dates new receptions after the ones it has, and keeps the discount', async () => {
  const dir = tempDir(); dirs.push(dir)
  let relay = await relayAt('2026-06-10T10:00:00Z', CONFIG, dir)
  const me = await customer(relay)
  const first = await receiptOf((await submitOrder(relay, me)).doc)
  await relay.stop()
  destroyClients()
  relay = await relayAt('2026-06-10T08:00:00Z', CONFIG, dir) // two hours back
  const second = await submitOrder(relay, me)
  const receipt = await receiptOf(second.doc)
  assert.ok(receipt.receivedAt >= first.receivedAt, `received ${receipt.receivedAt}, before the first order's ${first.receivedAt}`)
  assert.ok(receipt.discount !== null, 'the first order counts as the previous one')
  await relay.stop()
})

test.run()
