// Issue 18: two relays in cluster mode (createRelay twice in this process, one PostgreSQL, one
// Redis, one signing key). Two orders of one customer submitted at once, one through each relay,
// are decided one after the other under the customer's lock: exactly one of them gets the
// previous-order discount (citing the other), each is received once, and each gets its receipt.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type * as Y from 'yjs'
import pg from 'pg'
import { createRelay, type Relay, type RelayOptions } from '../../relay/server.ts'
import { orderRoom } from '../../relay/room-names.ts'
import { parseConfig } from '../../relay/config.ts'
import { newKeyPair } from '../../shared/signing.ts'
import { writeSpec, type Receipt } from '../../shared/schema.ts'
import { connect, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir, permissionDenials } from '../helpers/relay.ts'
import { startPostgres } from '../helpers/postgres.ts'
import { startRedis } from '../helpers/redis.ts'

const CONFIG = parseConfig({
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] }],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 300 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
})
const CUSTOMERS = 4

const postgres = await startPostgres({ fsync: 'off' })
const redis = await startRedis()
const store = await postgres.createSchema('cluster_orders')
const signingKey = newKeyPair()
const dirs: string[] = []
const relays: Relay[] = []
const providers: Array<{ destroy(): void }> = []

test.after(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const relay of relays.splice(0)) await relay.close()
  for (const dir of dirs) removeDir(dir)
  await redis.stop()
  await postgres.stop()
})

async function clusterRelay(options: Partial<RelayOptions> = {}): Promise<Relay & { wsUrl: string }> {
  const dataDir = tempDir()
  dirs.push(dataDir)
  const relay = await createRelay({ config: CONFIG, dataDir, port: 0, signingKey, cluster: { store, fanout: redis.url, images: 'postgres' }, ...options })
  relays.push(relay)
  return Object.assign(relay, { wsUrl: relay.url.replace(/^http/, 'ws') })
}

/** A draft order composed on a stock client through `relay`, synced, ready to be submitted. */
async function draft(relay: { wsUrl: string }, who: { userId: string; token: string }, photo: string): Promise<{ orderId: string; doc: Y.Doc }> {
  const orderId = newOrderId()
  const { doc, provider } = connect(relay, `order/${orderId}`, who.token)
  providers.push(provider)
  await synced(provider)
  writeSpec(doc, { id: orderId, user: who.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: [{ image: photo, product: 'L', qty: 2 }] })
  await waitFor(() => provider.synced, 'the draft synced')
  return { orderId, doc }
}

/** Polls an asynchronous condition (a row in PostgreSQL) until it holds. */
async function until<T>(check: () => Promise<T | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await check()
    if (found) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const finalReceipt = (doc: Y.Doc) => waitFor(() => {
  const status = doc.getMap('receipt').get('status')
  return status && status !== 'waiting' ? doc.getMap('receipt').toJSON() as Receipt : null
}, 'the receipt', 30_000)

test('two orders of one customer submitted at once through two relays: exactly one gets the previous-order discount', async () => {
  const a = await clusterRelay()
  const b = await clusterRelay()
  const customers = []
  for (let i = 0; i < CUSTOMERS; i++) {
    const who = await signUp(a.url)
    const photo = await uploadPhoto(a.url, who.token, await makePhoto(1000 + i))
    customers.push({ who, orders: [await draft(a, who, photo), await draft(b, who, photo)] })
  }
  // Every draft durable before the submissions, then all submitted in one turn: each customer's two
  // orders reach their two relays' intakes at once.
  for (const { orders } of customers) for (const { doc } of orders) doc.getMap('spec').set('state', 'submitted')
  const pool = new pg.Pool({ connectionString: store, max: 1 })
  try {
    for (const { who, orders } of customers) {
      const receipts = await Promise.all(orders.map(({ doc }) => finalReceipt(doc)))
      assert.equal(receipts.map((r) => r.status), ['accepted', 'accepted'])
      const discounted = receipts.filter((r) => r.discount !== null)
      assert.is(discounted.length, 1, `${who.userId}: ${JSON.stringify(receipts.map((r) => r.discount))}`)
      const [first, second] = receipts[0].discount ? [orders[1], orders[0]] : [orders[0], orders[1]]
      assert.is(discounted[0].discount!.previousOrder, first.orderId)
      const rows = await pool.query<{ order_id: string; discount_order: string | null }>(
        'SELECT order_id, discount_order FROM receptions WHERE user_id = $1 ORDER BY seq', [who.userId])
      assert.equal(rows.rows, [{ order_id: first.orderId, discount_order: null }, { order_id: second.orderId, discount_order: first.orderId }])
    }
  } finally {
    await pool.end()
  }
})

test('a relay that stops between a submission and its reception: another relay\'s sweep receives it', async () => {
  // Relay A notes the first sight, then waits (the test-only delay) long past its own end.
  const a = await clusterRelay({ intakeDelayMs: 5_000 })
  const b = await clusterRelay({ intakeSweepMs: 200 })
  const who = await signUp(a.url)
  const photo = await uploadPhoto(a.url, who.token, await makePhoto(2000))
  const { orderId, doc } = await draft(a, who, photo)
  doc.getMap('spec').set('state', 'submitted')
  const pool = new pg.Pool({ connectionString: store, max: 1 })
  try {
    await until(async () => (await pool.query('SELECT 1 FROM waiting_orders WHERE order_id = $1', [orderId])).rowCount === 1, 'the first sight noted')
    relays.splice(relays.indexOf(a), 1)
    await a.close()
    const received = await until(async () => (await pool.query<{ status: string; delivered: boolean }>(
      'SELECT status, delivered FROM receptions WHERE order_id = $1', [orderId])).rows.find((row) => row.delivered) ?? null, 'the reception, delivered', 30_000)
    assert.is(received.status, 'accepted')
    const receipt = await b.rooms.borrow(orderRoom(orderId), (room) => room.doc.getMap('receipt').toJSON() as Receipt)
    assert.is(receipt.status, 'accepted')
    assert.ok(receipt.number)
  } finally {
    await pool.end()
  }
})

test('a cancel through relay B is refused when the order citing it is printing, as its lab told relay A', async () => {
  const a = await clusterRelay()
  const b = await clusterRelay()
  const who = await signUp(a.url)
  const photo = await uploadPhoto(a.url, who.token, await makePhoto(3000))
  const first = await draft(a, who, photo)
  first.doc.getMap('spec').set('state', 'submitted')
  await finalReceipt(first.doc)
  const second = await draft(a, who, photo)
  second.doc.getMap('spec').set('state', 'submitted')
  assert.is((await finalReceipt(second.doc)).discount?.previousOrder, first.orderId)
  const lab = connect(a, `order/${second.orderId}`, 'lab-1-secret')
  providers.push(lab.provider)
  await synced(lab.provider)
  lab.doc.getMap('progress').set('status', 'printing')
  const pool = new pg.Pool({ connectionString: store, max: 1 })
  try {
    await until(async () => (await pool.query('SELECT 1 FROM receptions WHERE order_id = $1 AND progress = $2', [second.orderId, 'printing'])).rowCount === 1, 'printing noted')
    const device = connect(b, `order/${first.orderId}`, who.token)
    providers.push(device.provider)
    const denials = permissionDenials(device.provider)
    await synced(device.provider)
    device.doc.getMap('spec').set('state', 'cancelled')
    await waitFor(() => denials.length > 0, 'the cancel to be refused')
    assert.match(denials[0], new RegExp(`${second.orderId}.*being printed`))
    assert.is((await pool.query('SELECT status FROM receptions WHERE order_id = $1', [first.orderId])).rows[0].status, 'accepted')
    const stored = await a.rooms.borrow(orderRoom(first.orderId), (room) => room.doc.getMap('spec').get('state'))
    assert.is(stored, 'submitted', 'the cancel was not stored')
  } finally {
    await pool.end()
  }
})


test('a photo of an order accepted through relay A is fetched by its lab through relay B; a photo of no order of that lab is not', async () => {
  const a = await clusterRelay()
  const b = await clusterRelay()
  const who = await signUp(a.url)
  const photo = await uploadPhoto(a.url, who.token, await makePhoto(4000))
  const stray = await uploadPhoto(a.url, who.token, await makePhoto(4001)) // uploaded, in no order
  const order = await draft(a, who, photo)
  order.doc.getMap('spec').set('state', 'submitted')
  assert.is((await finalReceipt(order.doc)).status, 'accepted')
  const asLab = { authorization: 'Bearer lab-1-secret' }
  for (const relay of [b, a]) {
    const read = await fetch(`${relay.url}/api/images/${photo}`, { headers: asLab })
    assert.is(read.status, 200, `${relay.url}: ${await read.clone().text()}`)
    assert.ok((await read.arrayBuffer()).byteLength > 0)
    assert.is((await fetch(`${relay.url}/api/images/${stray}`, { headers: asLab })).status, 404, 'a photo in none of the lab\'s orders')
  }
})

test.run()
