// Orders waiting for photos (issue 16 point 1), against a real relay: the receipt says `waiting`
// and names the photos still missing, keeps that list up to date as photos arrive, and after
// limits.photoWait the order is refused naming the photos that never came, across a relay restart
// too (the deadline counts from the first sight the relay stored). Admins list waiting orders.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, makePhoto, sha256Hex, uploadPhoto, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { customer, finalReceipt, receiptWith, submitOrder, Testbed } from '../helpers/orders.ts'

const config = (photoWait: string) => ({
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] }],
  admins: [{ name: 'root', token: 'admin-secret' }],
  limits: { photoWait },
})

const bed = new Testbed()
const opened = bed.opened
test.after.each(() => bed.closeEach())
test.after(() => bed.removeDirs())

const relayWith = (photoWait: string, dataDir?: string) => bed.start(config(photoWait), { dataDir })

async function adminReceipts(relay: RelayProcess, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.url}/api/admin/receipts?${query}`, { headers: { authorization: 'Bearer admin-secret' } })
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() }
}

test('a photo that never arrives: the receipt waits naming it, then after photoWait (PT2S) the order is refused naming it', async () => {
  const relay = await relayWith('PT2S')
  const me = await customer(relay)
  const never = sha256Hex(await makePhoto(777001))
  const { doc, orderId } = await submitOrder(relay, me, opened, { items: [{ image: me.photo, product: 'L', qty: 1 }, { image: never, product: 'L', qty: 1 }] })
  const waiting = await receiptWith(doc, 'waiting')
  assert.equal(waiting.missing, [never], 'only the photo the relay does not have')
  const listed = await adminReceipts(relay, 'status=waiting')
  assert.is(listed.status, 200)
  assert.equal(listed.body.rows.map((row: any) => [row.order, row.status, row.missing]), [[orderId, 'waiting', [never]]], 'admins see it waiting')
  const refused = await finalReceipt(doc, 10_000)
  assert.is(refused.status, 'rejected')
  assert.match(refused.error ?? '', never, 'the error names the missing photo')
  assert.is(refused.missing, undefined)
  assert.equal((await adminReceipts(relay, 'status=waiting')).body.rows, [], 'no longer waiting')
})

test('the missing list shrinks as photos arrive; when all are there the order is decided as usual', async () => {
  const relay = await relayWith('P7D')
  const me = await customer(relay)
  const [a, b] = [await makePhoto(777002), await makePhoto(777003)]
  const { doc } = await submitOrder(relay, me, opened, { items: [{ image: sha256Hex(a), product: 'L', qty: 1 }, { image: sha256Hex(b), product: 'L', qty: 1 }] })
  assert.equal((await receiptWith(doc, 'waiting')).missing, [sha256Hex(a), sha256Hex(b)])
  await uploadPhoto(relay.url, me.token, a)
  await waitFor(() => JSON.stringify(doc.getMap('receipt').get('missing')) === JSON.stringify([sha256Hex(b)]), 'one photo still missing')
  await uploadPhoto(relay.url, me.token, b)
  const receipt = await finalReceipt(doc)
  assert.is(receipt.status, 'accepted')
  assert.is(receipt.total, 180)
  assert.is(receipt.missing, undefined)
})

test('the deadline survives a relay restart: it counts from the first sight the relay stored', async () => {
  const dir = bed.newDir()
  let relay = await relayWith('PT3S', dir)
  const me = await customer(relay)
  const never = sha256Hex(await makePhoto(777004))
  const { orderId, doc } = await submitOrder(relay, me, opened, { items: [{ image: never, product: 'L', qty: 1 }] })
  await receiptWith(doc, 'waiting')
  const killedAt = Date.now()
  await bed.down(relay, 'kill') // SIGKILL: no timer, no clean shutdown
  // Down past the deadline: the time to test is the relay's, there is nothing to wait on instead.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3_500 - (Date.now() - killedAt))))
  relay = await relayWith('PT3S', dir)
  const again = connect(relay, `order/${orderId}`, me.token)
  opened.push(again.provider)
  // Well under the 3 s a deadline counted afresh from the restart would take.
  const refused = await finalReceipt(again.doc, 2_000)
  assert.is(refused.status, 'rejected')
  assert.match(refused.error ?? '', never)
})

test.run()
