// Order numbers through a real relay and stock y-websocket clients: each store counts its own,
// the receipt carries the number, a rejected order gets none, admins find an order by its number
// or its customer's e-mail, and a relay killed with SIGKILL never gives a number twice.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { writeSpec, type Receipt, type OrderItem } from '../../shared/schema.ts'
import type { Page, ReceiptRow } from '../../shared/audit.ts'
import { encode, isWellFormed } from '../../shared/order-number.ts'
import {
  connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir, type RelayProcess,
} from '../helpers/relay.ts'

const ADMIN = 'admin-secret'
const CONFIG = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'store-2', name: 'Mall store', lab: 'lab-1', fee: 0, roles: ['reception', 'delivery'] }],
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: ADMIN }],
}

const dirs: string[] = []
const providers: Array<{ destroy(): void }> = []
const relays: RelayProcess[] = []
test.after.each(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const relay of relays.splice(0)) await relay.kill() // a failed test still leaves nothing running
})
test.after(() => { for (const d of dirs) removeDir(d) })

async function relayIn(dir: string): Promise<RelayProcess> {
  const relay = await startRelay({ config: CONFIG, dataDir: dir })
  relays.push(relay)
  return relay
}

function newDir(): string {
  const dir = tempDir()
  dirs.push(dir)
  return dir
}

async function customer(relay: RelayProcess, seed: number) {
  const account = await signUp(relay.url)
  return { ...account, photo: await uploadPhoto(relay.url, account.token, await makePhoto(seed)) }
}

type Customer = Awaited<ReturnType<typeof customer>>

/** Submits an order from a stock client and waits for the relay's receipt. */
async function order(relay: RelayProcess, who: Customer, front: string, items?: OrderItem[]): Promise<{ orderId: string; receipt: Receipt }> {
  const orderId = newOrderId()
  const { doc, provider } = connect(relay, `order/${orderId}`, who.token)
  providers.push(provider)
  await synced(provider)
  writeSpec(doc, { id: orderId, user: who.userId, front, createdAt: new Date().toISOString(), state: 'draft', items: items ?? [{ image: who.photo, product: 'L', qty: 1 }] })
  doc.getMap('spec').set('state', 'submitted')
  const receipt = await waitFor(() => { const status = doc.getMap('receipt').get('status'); return status && status !== 'waiting' ? doc.getMap('receipt').toJSON() as Receipt : null }, `the receipt of ${orderId}`, 10_000)
  return { orderId, receipt }
}

async function receipts(relay: RelayProcess, query: Record<string, string>): Promise<{ status: number; rows: ReceiptRow[]; body: unknown }> {
  const res = await fetch(`${relay.url}/api/admin/receipts?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${ADMIN}` } })
  const body = await res.json() as Page<ReceiptRow> & { error?: string }
  return { status: res.status, rows: body.rows ?? [], body }
}

function storedNumbers(relay: RelayProcess): Map<string, string | null> {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    const rows = db.prepare('SELECT order_id, number FROM receptions').all() as Array<{ order_id: string; number: string | null }>
    return new Map(rows.map((row) => [row.order_id, row.number]))
  } finally {
    db.close()
  }
}

test('each store numbers its own orders; the receipt carries the number; a rejected order gets none and uses none', async () => {
  const relay = await relayIn(newDir())
  const ann = await customer(relay, 1)
  const bob = await customer(relay, 2)
  const station = [await order(relay, ann, 'store-1'), await order(relay, bob, 'store-1')]
  const mall = [await order(relay, bob, 'store-2')]
  // Refused (no such product) at store-1: no number, and store-1's counter does not move.
  const refused = await order(relay, ann, 'store-1', [{ image: ann.photo, product: 'XXL', qty: 1 }])
  station.push(await order(relay, ann, 'store-1'))

  for (const { receipt } of [...station, ...mall]) {
    assert.is(receipt.status, 'accepted')
    assert.ok(receipt.number && isWellFormed(receipt.number) && !/[01OILU]/.test(receipt.number), `readable: ${receipt.number}`)
  }
  assert.equal(station.map(({ receipt }) => receipt.number), [encode(1), encode(2), encode(3)], 'store-1 counts 1, 2, 3; the refusal took no number')
  assert.equal(mall.map(({ receipt }) => receipt.number), [encode(1)], 'store-2 counts on its own')
  assert.is(refused.receipt.status, 'rejected')
  assert.is(refused.receipt.number, undefined)
  const stored = storedNumbers(relay)
  assert.is(stored.get(refused.orderId), null)
  for (const { orderId, receipt } of [...station, ...mall]) assert.is(stored.get(orderId), receipt.number, `${orderId} as recorded`)
})

test('admins find an order by its number (typed in any case) and by the customer\'s e-mail', async () => {
  const relay = await relayIn(newDir())
  const ann = await customer(relay, 3)
  const bob = await customer(relay, 4)
  const first = await order(relay, ann, 'store-1')
  const second = await order(relay, bob, 'store-1')
  const elsewhere = await order(relay, bob, 'store-2') // the same number as `first`, at another store
  assert.is(elsewhere.receipt.number, first.receipt.number)

  const typed = await receipts(relay, { number: ` ${second.receipt.number!.toLowerCase().replace(/^(..)/, '$1-')}` })
  assert.is(typed.status, 200)
  assert.equal(typed.rows.map((r) => [r.order, r.number, r.front]), [[second.orderId, second.receipt.number, 'store-1']])

  const both = await receipts(relay, { number: first.receipt.number! })
  assert.equal(both.rows.map((r) => r.order).sort(), [first.orderId, elsewhere.orderId].sort(), 'one per store that gave it')
  const one = await receipts(relay, { number: first.receipt.number!, front: 'store-2' })
  assert.equal(one.rows.map((r) => r.order), [elsewhere.orderId])

  const byEmail = await receipts(relay, { email: bob.email.toUpperCase() })
  assert.equal(byEmail.rows.map((r) => r.order), [second.orderId, elsewhere.orderId])
  assert.equal((await receipts(relay, { email: 'nobody@example.com' })).rows, [])

  const bad = await receipts(relay, { number: 'K0M2' })
  assert.is(bad.status, 400)
  assert.match(String((bad.body as { error: string }).error), /number: .*zero/)

  const csv = await (await fetch(`${relay.url}/api/admin/receipts?format=csv&number=${second.receipt.number}`, { headers: { authorization: `Bearer ${ADMIN}` } })).text()
  const [header, row] = csv.trim().split('\r\n').map((line) => line.split(','))
  assert.is(row[header.indexOf('number')], second.receipt.number)
  assert.is(row[header.indexOf('order')], second.orderId)
})

test('after a SIGKILL the relay goes on counting: no number is given twice', async () => {
  const dir = newDir()
  let relay = await relayIn(dir)
  const ann = await customer(relay, 5)
  const before = [await order(relay, ann, 'store-1'), await order(relay, ann, 'store-1')]
  await relay.kill()
  for (const p of providers.splice(0)) p.destroy()
  relay = await relayIn(dir)
  const after = [await order(relay, ann, 'store-1'), await order(relay, ann, 'store-2')]
  const numbers = [...before, after[0]].map(({ receipt }) => receipt.number)
  assert.equal(numbers, [encode(1), encode(2), encode(3)])
  assert.is(after[1].receipt.number, encode(1))
  const stored = storedNumbers(relay)
  assert.is(stored.size, 4)
  assert.is(new Set([...stored].filter(([id]) => id !== after[1].orderId).map(([, n]) => n)).size, 3)
})

test.run()
