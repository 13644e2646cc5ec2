// SPEC.md's rights table, room `order/<orderId>`, against a real relay through stock y-websocket
// clients: claiming a new order, the owner's rights before and after submission, forged receipt
// and progress, admins and labs that the order is not assigned to.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import type { WebsocketProvider } from 'y-websocket'
import { writeSpec, type OrderSpec } from '../../shared/schema.ts'
import { connect, startRelay, signUp, synced, waitFor, closed, permissionDenials, removeDir, newOrderId, type RelayProcess } from '../helpers/relay.ts'

const ADMIN = 'demo-admin-token'
const LAB_KEY = 'demo-lab-key'
const IMAGE = 'ab'.repeat(32)

let relay: RelayProcess
const open: WebsocketProvider[] = []
const client = (room: string, token: string) => {
  const c = connect(relay, room, token)
  open.push(c.provider)
  return c
}
const destroyClients = () => { for (const p of open.splice(0)) p.destroy() }

test.before(async () => { relay = await startRelay() })
test.after.each(destroyClients)
test.after(async () => {
  destroyClients()
  await relay.stop()
  removeDir(relay.dataDir)
})

type Account = { userId: string; token: string }

const spec = (orderId: string, user: string, over: Partial<OrderSpec> = {}): OrderSpec => ({
  id: orderId, user, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft',
  items: [{ image: IMAGE, product: 'L', qty: 1 }], ...over,
})

/** A synced client on the order that records the permission-denied messages it is sent. */
async function writer(orderId: string, token: string) {
  const c = client(`order/${orderId}`, token)
  const denials = permissionDenials(c.provider)
  await synced(c.provider)
  return { ...c, denials }
}

async function refusal(denials: string[]): Promise<string> {
  await waitFor(() => denials.length > 0, 'a permission-denied message')
  assert.ok(denials[0].startsWith('write refused:'), `told why: ${denials[0]}`)
  return denials[0]
}

/** The order as a client that connects now sees it. */
async function freshView(orderId: string, token: string): Promise<Y.Doc> {
  const c = client(`order/${orderId}`, token)
  await synced(c.provider)
  return c.doc
}

/** A new order claimed by `owner`, stored (seen by a second client) before this resolves. */
async function claimedOrder(owner: Account, over: Partial<OrderSpec> = {}): Promise<string> {
  const orderId = newOrderId()
  const w = await writer(orderId, owner.token)
  writeSpec(w.doc, spec(orderId, owner.userId, over))
  const check = client(`order/${orderId}`, owner.token)
  await waitFor(() => check.doc.getMap('spec').get('state') === (over.state ?? 'draft'), 'the claim to be stored')
  assert.equal(w.denials, [])
  return orderId
}

/** Sets spec.state on a fresh owner device and waits until another device sees it stored. */
async function setState(orderId: string, owner: Account, state: OrderSpec['state']): Promise<void> {
  const w = await writer(orderId, owner.token)
  w.doc.getMap('spec').set('state', state)
  const check = client(`order/${orderId}`, owner.token)
  await waitFor(() => check.doc.getMap('spec').get('state') === state, `state ${state} to be stored`)
  assert.equal(w.denials, [])
}

const closeCode = async (orderId: string, token: string) => (await closed(client(`order/${orderId}`, token).provider)).code

// ---------------------------------------------------------------- claiming

test('a new order belongs to the customer who first writes it with their own id', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const seen = (await freshView(orderId, me.token)).getMap('spec')
  assert.is(seen.get('user'), me.userId)
  assert.is(seen.get('id'), orderId)
})

test('a claim that names another customer in spec.user is refused and the order stays unclaimed', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const orderId = newOrderId()
  const w = await writer(orderId, me.token)
  writeSpec(w.doc, spec(orderId, other.userId))
  await refusal(w.denials)
  assert.is((await freshView(orderId, other.token)).getMap('spec').size, 0)
})

test('after a refused claim, another customer can still claim the order for themselves', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const orderId = newOrderId()
  const forged = await writer(orderId, me.token)
  writeSpec(forged.doc, spec(orderId, other.userId))
  await refusal(forged.denials)
  forged.provider.destroy()
  const own = await writer(orderId, other.token)
  writeSpec(own.doc, spec(orderId, other.userId))
  const check = client(`order/${orderId}`, other.token)
  await waitFor(() => check.doc.getMap('spec').get('user') === other.userId, 'the second claim to be stored')
  assert.equal(own.denials, [])
  assert.is(await closeCode(orderId, me.token), 4403)
})

test('another customer cannot open an order once it is claimed: 4403', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  assert.is(await closeCode(orderId, other.token), 4403)
})

test('a customer who had an unclaimed order open is cut off when another customer claims it', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const orderId = newOrderId()
  const watcher = client(`order/${orderId}`, other.token)
  await synced(watcher.provider)
  const closing = closed(watcher.provider)
  const w = await writer(orderId, me.token)
  writeSpec(w.doc, spec(orderId, me.userId))
  assert.is((await closing).code, 4403)
  assert.is(watcher.doc.getMap('spec').size, 0, 'the other customer never saw the order')
})

// ---------------------------------------------------------------- the owner

test('the owner may edit the spec of a draft', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const w = await writer(orderId, me.token)
  const item = new Y.Map<unknown>()
  item.set('image', IMAGE); item.set('product', '4x6'); item.set('qty', 3)
  ;(w.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).push([item])
  const check = client(`order/${orderId}`, me.token)
  await waitFor(() => (check.doc.getMap('spec').get('items') as Y.Array<unknown> | undefined)?.length === 2, 'the new item stored')
  assert.equal(w.denials, [])
})

test('the owner\'s forged receipt is refused, the owner is told, and a fresh client sees no receipt', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const w = await writer(orderId, me.token)
  w.doc.getMap('receipt').set('status', 'accepted')
  w.doc.getMap('receipt').set('total', 0)
  await refusal(w.denials)
  assert.is((await freshView(orderId, me.token)).getMap('receipt').size, 0)
})

test('the owner\'s forged receipt is still absent after a relay restart', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const w = await writer(orderId, me.token)
  w.doc.getMap('receipt').set('status', 'accepted')
  await refusal(w.denials)
  destroyClients()
  await relay.stop()
  relay = await relay.restart()
  const doc = await freshView(orderId, ADMIN)
  assert.is(doc.getMap('receipt').size, 0)
  assert.is(doc.getMap('spec').get('user'), me.userId, 'the accepted claim survived')
})

test('a claim that also writes a receipt is refused whole', async () => {
  const me = await signUp(relay.url)
  const orderId = newOrderId()
  const w = await writer(orderId, me.token)
  w.doc.transact(() => {
    writeSpec(w.doc, spec(orderId, me.userId))
    w.doc.getMap('receipt').set('status', 'accepted')
  })
  await refusal(w.denials)
  const doc = await freshView(orderId, me.token)
  assert.is(doc.getMap('spec').size, 0)
  assert.is(doc.getMap('receipt').size, 0)
})

test('the owner\'s forged progress is refused, the owner is told, and nothing is stored', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const w = await writer(orderId, me.token)
  w.doc.getMap('progress').set('status', 'printed')
  await refusal(w.denials)
  assert.is((await freshView(orderId, me.token)).getMap('progress').size, 0)
})

test('the owner cannot change the spec once the order is submitted', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  await setState(orderId, me, 'submitted')
  const w = await writer(orderId, me.token)
  w.doc.getMap('spec').set('front', 'elsewhere')
  await refusal(w.denials)
  assert.is((await freshView(orderId, me.token)).getMap('spec').get('front'), 'demo-store')
})

test('the owner cannot reopen a submitted order as a draft', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  await setState(orderId, me, 'submitted')
  const w = await writer(orderId, me.token)
  w.doc.getMap('spec').set('state', 'draft')
  await refusal(w.denials)
  assert.is((await freshView(orderId, me.token)).getMap('spec').get('state'), 'submitted')
})

test('the owner may cancel a submitted order', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  await setState(orderId, me, 'submitted')
  await setState(orderId, me, 'cancelled')
  assert.is((await freshView(orderId, ADMIN)).getMap('spec').get('state'), 'cancelled')
})

test('a refused write is not passed on to the owner\'s other device', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const tablet = client(`order/${orderId}`, me.token)
  await synced(tablet.provider)
  const forger = await writer(orderId, me.token)
  forger.doc.getMap('receipt').set('status', 'accepted')
  await refusal(forger.denials)
  // An accepted write from a third device reaches the tablet; the refused one must not have.
  const phone = await writer(orderId, me.token)
  phone.doc.getMap('spec').set('front', 'demo-store-2')
  await waitFor(() => tablet.doc.getMap('spec').get('front') === 'demo-store-2', 'the accepted write at the tablet')
  await new Promise((r) => setTimeout(r, 300))
  assert.is(tablet.doc.getMap('receipt').size, 0)
})

test('a write made after a refused one on the same device is stored whole or refused, never half', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const device = await writer(orderId, me.token)
  device.doc.getMap('receipt').set('status', 'accepted')
  await refusal(device.denials)
  // Replacing a value deletes the old one and inserts the new one: both land, or neither.
  device.doc.getMap('spec').set('front', 'second-store')
  const other = client(`order/${orderId}`, me.token)
  await synced(other.provider)
  await new Promise((r) => setTimeout(r, 500))
  const front = other.doc.getMap('spec').get('front')
  assert.ok(front === 'second-store' || (front === 'demo-store' && device.denials.length === 2),
    `spec.front is ${JSON.stringify(front)} at another device; the writer was told ${JSON.stringify(device.denials)}`)
})

// ---------------------------------------------------------------- admins and labs

test('an admin reads an order', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  assert.is((await freshView(orderId, ADMIN)).getMap('spec').get('user'), me.userId)
})

test('an admin\'s write to an order is refused and not stored', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  const w = await writer(orderId, ADMIN)
  w.doc.getMap('spec').set('front', 'changed-by-admin')
  await refusal(w.denials)
  assert.is((await freshView(orderId, me.token)).getMap('spec').get('front'), 'demo-store')
})

test('a lab cannot open an order that is not assigned to it: 4403', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me)
  assert.is(await closeCode(orderId, LAB_KEY), 4403)
})

test('a lab cannot open an unclaimed order: 4403', async () => {
  assert.is(await closeCode(newOrderId(), LAB_KEY), 4403)
})

test('a lab cannot write progress to an order that is not assigned to it', async () => {
  const me = await signUp(relay.url)
  const orderId = await claimedOrder(me, { state: 'submitted' })
  // A raw socket sends the update at once, before the relay has decided whether the lab may read.
  const forged = new Y.Doc()
  forged.getMap('progress').set('status', 'printed')
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(forged))
  const ws = new WebSocket(`${relay.wsUrl}/sync/order/${orderId}?token=${LAB_KEY}`)
  const code = new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)))
  ws.on('open', () => ws.send(encoding.toUint8Array(encoder)))
  assert.is(await code, 4403)
  assert.is((await freshView(orderId, me.token)).getMap('progress').size, 0)
})

test.run()
