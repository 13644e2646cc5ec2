// In-store sync (issue 8) with real processes: a relay, a lab node with `--listen` (its in-store
// server), stock y-websocket clients as the store's terminals, and a TCP proxy on loopback
// standing for the store's internet link.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { get as httpsGet } from 'node:https'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { writeSpec, type OrderItem } from '../../shared/schema.ts'
import {
  LABSYNC, closed, connect, makePhoto, newOrderId, permissionDenials, removeDir, sha256Hex, signUp, startRelay, synced, tempDir, uploadPhoto, waitFor,
  type RelayProcess,
} from '../helpers/relay.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { startFlakyProxy } from '../helpers/flaky-proxy.ts'
import { selfSignedCertificate } from '../e2e/instore-helpers.ts'

const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }, { id: 'lab-2', name: 'North lab', key: 'lab-2-secret', price: {} }],
  fronts: [
    { id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 0, roles: ['reception'], lanUrl: 'ws://127.0.0.1:9' },
    { id: 'store-2', name: 'North store', lab: 'lab-2', fee: 0, roles: ['reception'] },
  ],
  // A short period so that a relay outage of a few seconds would cost the discount without the stamp.
  discounts: { scope: 'user', tiers: [{ within: 'PT8S', amount: 15 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

const cleanups: Array<() => Promise<void> | void> = []
const providers: Array<{ destroy(): void }> = []
test.after.each(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function terminal(lab: LabProcess, room: string, token: string, doc?: Y.Doc) {
  const c = connect({ wsUrl: lab.lanUrl!.replace(/^http/, 'ws') }, room, token, doc)
  providers.push(c.provider)
  return c
}

/** An empty draft written from a store terminal, and the same order opened at the relay (the customer's phone at home). */
async function draftFromStore(lab: LabProcess, relay: RelayProcess, me: { userId: string; token: string }) {
  const orderId = newOrderId()
  const store = terminal(lab, `order/${orderId}`, me.token)
  await synced(store.provider, 10_000)
  writeSpec(store.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: [] })
  const home = connect(relay, `order/${orderId}`, me.token)
  providers.push(home.provider)
  return { orderId, store, home }
}

async function startLabNode(relayUrl: string, printDir: string, dataDir?: string, env?: Record<string, string>): Promise<LabProcess> {
  const lab = await startLab({ relayUrl, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${printDir}`, auto: true, listen: '127.0.0.1:0', dataDir, historyIntervalSeconds: 1, env })
  cleanups.push(() => lab.kill())
  // The in-store server needs the catalog (the relay's public key) once before it can work alone.
  await waitUntil(async () => (await (await fetch(`${lab.lanUrl}/healthz`)).json() as { catalog: boolean }).catalog, 'the lab node to have the catalog', 15_000)
  return lab
}

/** A print folder and a relay on CONFIG, both gone after the test. */
async function relayAndPrints(): Promise<{ printDir: string; relay: RelayProcess }> {
  const printDir = tempDir('labsync-prints-')
  cleanups.push(() => removeDir(printDir))
  const stack = { printDir, relay: await startRelay({ config: CONFIG }) }
  // A test that restarts the relay puts the new process here, and that one is stopped.
  cleanups.push(async () => { await stack.relay.kill(); removeDir(stack.relay.dataDir) })
  return stack
}

/** A new order of `me`'s written straight at the relay by a stock client: one photo, one print. */
async function orderAtRelay(relay: RelayProcess, me: { userId: string; token: string }, seed: number, spec: { front: string; state: 'draft' | 'submitted' }, extra?: (doc: Y.Doc) => void) {
  const image = await uploadPhoto(relay.url, me.token, await makePhoto(seed))
  const orderId = newOrderId()
  const c = connect(relay, `order/${orderId}`, me.token)
  providers.push(c.provider)
  await synced(c.provider)
  c.doc.transact(() => {
    writeSpec(c.doc, { id: orderId, user: me.userId, createdAt: new Date().toISOString(), items: [{ image, product: 'L', qty: 1 }], ...spec })
    extra?.(c.doc)
  })
  return { ...c, orderId }
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const started = Date.now()
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const printsOf = (dir: string, order: string) => {
  try { return readdirSync(dir).filter((name) => name.endsWith('.jpg') && name.includes(order)) } catch { return [] }
}

async function submitThroughStore(lab: LabProcess, me: { userId: string; token: string }, items: Array<Omit<OrderItem, 'image'> & { photo: Buffer }>) {
  const images: string[] = []
  for (const item of items) images.push(await uploadPhoto(lab.lanUrl!, me.token, item.photo))
  const orderId = newOrderId()
  const user = terminal(lab, `user/${me.userId}`, me.token)
  const order = terminal(lab, `order/${orderId}`, me.token)
  await synced(user.provider, 10_000)
  await synced(order.provider, 10_000)
  writeSpec(order.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft', items: items.map(({ photo: _, ...item }, i) => ({ ...item, image: images[i] })) })
  user.doc.getMap('orders').set(orderId, new Y.Doc({ guid: `order/${orderId}` }))
  order.doc.getMap('spec').set('state', 'submitted')
  return { orderId, order, user }
}

test('relay down: an order submitted in the store reaches the relay when it is back, dated by the store, with its discount, printed once', async () => {
  const stack = await relayAndPrints()
  const { printDir } = stack
  let { relay } = stack
  const me = await signUp(relay.url)
  const lab = await startLabNode(relay.url, printDir)

  // A first order straight at the relay: the previous order the discount counts from.
  const { doc: firstDoc, orderId: firstId } = await orderAtRelay(relay, me, 1, { front: 'store-1', state: 'submitted' })
  const first = { doc: firstDoc }
  const firstReceived = Date.parse(await waitFor(() => first.doc.getMap('receipt').get('receivedAt') as string, 'the first receipt', 10_000))

  // The store's internet link goes: the relay is SIGKILLed.
  await relay.kill()
  const { orderId, order } = await submitThroughStore(lab, me, [
    { product: 'L', qty: 2, photo: await makePhoto(2) },
    { product: 'L', qty: 1, photo: await makePhoto(3) },
  ])
  const stamp = await waitFor(() => order.doc.getMap('instore').get('receivedAt') as string, 'the in-store stamp', 10_000)
  assert.is(order.doc.getMap('instore').get('lab'), 'lab-1')
  assert.is(order.doc.getMap('receipt').size, 0, 'no receipt without the relay')
  assert.ok(Date.parse(stamp) - firstReceived < 8_000, 'stamped within the discount period')

  // The relay comes back only after the period has run out by its own clock: its clock starts
  // 9 s after the first receipt (LABSYNC_TEST_CLOCK) rather than the test waiting those seconds out.
  const comeback = new Date(Math.max(Date.now(), firstReceived + 9_000)).toISOString()
  relay = stack.relay = await startRelay({ config: CONFIG, dataDir: relay.dataDir, port: Number(new URL(relay.url).port), env: { LABSYNC_TEST_CLOCK: comeback } })
  // The relay may first say it waits for the photo the lab node passes on after the order.
  await waitFor(() => decided(order.doc.getMap('receipt').get('status')), 'the decided receipt through the lab node', 30_000)
  const receipt = order.doc.getMap('receipt').toJSON()
  assert.is(receipt.status, 'accepted', JSON.stringify(receipt))
  assert.is(receipt.receivedAt, new Date(stamp).toISOString(), 'dated by the store, not by the relay coming back')
  assert.is(receipt.discount?.amount, 15, 'the repeat discount the shop outage would have cost')
  assert.is(receipt.total, 40 * 3 - 15)

  // The relay's own copy (a fresh stock client) has the whole order, and the lab prints it once.
  const atRelay = connect(relay, `order/${orderId}`, me.token)
  providers.push(atRelay.provider)
  await synced(atRelay.provider, 10_000)
  assert.is((atRelay.doc.getMap('spec').get('items') as Y.Array<unknown>).length, 2)
  await waitFor(() => printsOf(printDir, orderId).length === 2, 'two print files for the order', 30_000)
  await waitFor(() => order.doc.getMap('progress').get('status') === 'printed', 'progress printed in the store copy', 15_000)
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  assert.is(printsOf(printDir, orderId).length, 2, 'printed once')

  // Admins see that the reception was dated by the lab node's stamp.
  const rows = await (await fetch(`${relay.url}/api/admin/receipts?user=${me.userId}`, { headers: { authorization: 'Bearer admin-secret' } })).json() as { rows: Array<{ order: string; inStore: { lab: string; stampedAt: string; used: boolean } | null }> }
  assert.equal(rows.rows.find((r) => r.order === orderId)?.inStore, { lab: 'lab-1', stampedAt: stamp, used: true })
  assert.is(rows.rows.find((r) => r.order === firstId)?.inStore, null)
})

test('a lab node SIGKILLed while the relay is down passes the store\'s order on after both restart', async () => {
  const stack = await relayAndPrints()
  const { printDir } = stack
  let { relay } = stack
  const me = await signUp(relay.url)
  const dataDir = tempDir('labsync-lab-')
  cleanups.push(() => removeDir(dataDir))
  const lab = await startLabNode(relay.url, printDir, dataDir)
  await relay.kill()
  const { orderId, order } = await submitThroughStore(lab, me, [{ product: 'L', qty: 1, photo: await makePhoto(8) }])
  const stamp = await waitFor(() => order.doc.getMap('instore').get('receivedAt') as string, 'the in-store stamp', 10_000)
  await lab.kill()
  const again = await startLabNode(relay.url, printDir, dataDir) // relay still down: starts from its own copy
  relay = stack.relay = await relay.restart()
  const atRelay = connect(relay, `order/${orderId}`, me.token)
  providers.push(atRelay.provider)
  await waitFor(() => decided(atRelay.doc.getMap('receipt').get('status')), 'the decided receipt at the relay', 30_000)
  assert.is(atRelay.doc.getMap('receipt').get('status'), 'accepted', JSON.stringify(atRelay.doc.getMap('receipt').toJSON()))
  assert.is(atRelay.doc.getMap('receipt').get('receivedAt'), stamp)
  // Both restarted at once on a busy machine: the lab may find the relay too slow at first and try again.
  await waitFor(() => printsOf(printDir, orderId).length === 1, 'the print', 60_000)
    .catch((error: Error) => { throw new Error(`${error.message}; the lab node said:\n${again.output()}`) })
})

test('a device whose copy holds the relay\'s receipt syncs with the lab node without refusals', async () => {
  const { printDir, relay } = await relayAndPrints()
  const me = await signUp(relay.url)
  const home = await orderAtRelay(relay, me, 10, { front: 'store-2', state: 'submitted' })
  const { orderId } = home
  await waitFor(() => home.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
  const lab = await startLabNode(relay.url, printDir)
  await relay.kill() // the lab node cannot fetch the receipt itself: it must take the device's copy whole
  const inStore = terminal(lab, `order/${orderId}`, me.token, home.doc)
  const denials = permissionDenials(inStore.provider)
  await synced(inStore.provider, 10_000)
  home.provider.destroy()
  // A second device in the store, with an empty copy, gets the whole order from the lab node.
  const other = terminal(lab, `order/${orderId}`, me.token)
  await waitFor(() => other.doc.getMap('receipt').get('status') === 'accepted' && other.doc.getMap('spec').get('state') === 'submitted', 'the order and its receipt from the lab node', 10_000)
  assert.equal(denials, [])
  assert.is(other.doc.getMap('instore').size, 0, 'an order the relay received is not stamped in the store')
})

test('with the link up and quiet, a change made in the store reaches the relay at once', async () => {
  const { printDir, relay } = await relayAndPrints()
  const me = await signUp(relay.url)
  const lab = await startLabNode(relay.url, printDir)
  const { orderId, store, home } = await draftFromStore(lab, relay, me)
  await waitFor(() => home.doc.getMap('spec').get('id') === orderId, 'the draft at the relay', 10_000)
  await new Promise((resolve) => setTimeout(resolve, 1_000)) // every probe answered: the link is quiet
  store.doc.getMap('spec').set('createdAt', '2026-11-23T00:00:00.000Z')
  await waitFor(() => home.doc.getMap('spec').get('createdAt') === '2026-11-23T00:00:00.000Z', 'the later change at the relay', 5_000)
})

test("a terminal that opened an order nobody had in the store is cut off when the owner's copy arrives", async () => {
  const { printDir, relay } = await relayAndPrints()
  const alice = await signUp(relay.url, 'Alice')
  const bob = await signUp(relay.url, 'Bob')
  const { orderId } = await orderAtRelay(relay, alice, 11, { front: 'store-1', state: 'draft' })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const lab = await startLabNode(relay.url, printDir)
  const snoop = terminal(lab, `order/${orderId}`, bob.token) // empty at the lab node: nothing to refuse yet
  await synced(snoop.provider, 10_000)
  const closing = closed(snoop.provider, 15_000)
  const mine = terminal(lab, `order/${orderId}`, alice.token)
  await waitFor(() => mine.doc.getMap('spec').get('user') === alice.userId, "Alice's order through the lab node", 10_000)
  assert.is((await closing).code, 4403)
  assert.is(snoop.doc.getMap('spec').size, 0, 'nothing of it reached Bob')
})

test('no stamp for a submission that carries maps the relay would refuse from a customer', async () => {
  const { printDir, relay } = await relayAndPrints()
  const me = await signUp(relay.url)
  const lab = await startLabNode(relay.url, printDir)
  const image = await uploadPhoto(lab.lanUrl!, me.token, await makePhoto(12))
  const orderId = newOrderId()
  const c = terminal(lab, `order/${orderId}`, me.token)
  await synced(c.provider, 10_000)
  c.doc.transact(() => {
    writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image, product: 'L', qty: 1 }] })
    c.doc.getMap('progress').set('status', 'queued')
  })
  const honest = terminal(lab, `order/${newOrderId()}`, me.token) // the same customer's honest order, for timing
  await synced(honest.provider, 10_000)
  const honestId = honest.provider.roomname.slice(6)
  writeSpec(honest.doc, { id: honestId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image, product: 'L', qty: 1 }] })
  await waitFor(() => honest.doc.getMap('instore').size > 0, 'the honest order stamped', 30_000) // a loaded CI machine took over 10 s
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.is(c.doc.getMap('instore').size, 0)
})

test('a stamp is only as good as its signature: a customer cannot date their own order', async () => {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.kill(); removeDir(relay.dataDir) })
  const me = await signUp(relay.url)
  const forgedAt = new Date(Date.now() - 3_600_000).toISOString()
  const c = await orderAtRelay(relay, me, 4, { front: 'store-1', state: 'submitted' }, (doc) => {
    const instore = doc.getMap('instore')
    for (const [k, v] of Object.entries({ lab: 'lab-1', front: 'store-1', receivedAt: forgedAt, spec: '0'.repeat(32), key: '0123456789abcdef', sig: 'AAAA' })) instore.set(k, v)
  })
  const receivedAt = await waitFor(() => c.doc.getMap('receipt').get('receivedAt') as string, 'the receipt', 10_000)
  assert.is.not(receivedAt, forgedAt)
  assert.ok(Math.abs(Date.parse(receivedAt) - Date.now()) < 10_000, 'dated by the relay')
  const rows = await (await fetch(`${relay.url}/api/admin/receipts?user=${me.userId}`, { headers: { authorization: 'Bearer admin-secret' } })).json() as { rows: Array<{ inStore: { used: boolean; reason: string } | null }> }
  assert.is(rows.rows[0].inStore?.used, false)
  assert.match(rows.rows[0].inStore!.reason, /not registered for lab lab-1/)
})

test('a terminal on the LAN reads and writes only its own documents through the lab node', async () => {
  const { printDir, relay } = await relayAndPrints()
  const alice = await signUp(relay.url, 'Alice')
  const bob = await signUp(relay.url, 'Bob')
  // The lab node fetches sign-outs every 200 ms rather than every 10 s (see the sign-out below).
  const lab = await startLabNode(relay.url, printDir, undefined, { LABSYNC_LAN_POLL_MS: '200' })
  const photo = await makePhoto(5)
  const { orderId, order } = await submitThroughStore(lab, alice, [{ product: 'L', qty: 1, photo }])
  await waitFor(() => order.doc.getMap('instore').size > 0, 'the stamp', 10_000)

  // Bob, on the same LAN with his own valid token: Alice's order and user document stay closed.
  for (const room of [`order/${orderId}`, `user/${alice.userId}`, 'lab/lab-1']) {
    const probe = terminal(lab, room, bob.token)
    const event = await closed(probe.provider, 10_000)
    assert.is(event.code, 4403, room)
    assert.is(probe.doc.getMap('spec').size, 0, `${room}: nothing of it reached Bob`)
  }
  // Alice's photo is not Bob's to fetch, at the lab node or at the relay.
  const sha = sha256Hex(photo)
  assert.is((await fetch(`${lab.lanUrl}/api/images/${sha}`, { headers: { authorization: `Bearer ${bob.token}` } })).status, 404)
  assert.is((await fetch(`${lab.lanUrl}/api/images/${sha}`, { headers: { authorization: `Bearer ${alice.token}` } })).status, 200)

  // Only customers' session tokens count on the LAN: not lab keys, admin tokens, forgeries or signed-out sessions.
  const [header, claims, sig] = bob.token.split('.')
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), sub: alice.userId })).toString('base64url')}.${sig}`
  for (const token of ['lab-1-secret', 'admin-secret', forged, 'not-a-token']) {
    const probe = terminal(lab, `user/${alice.userId}`, token)
    assert.is((await closed(probe.provider, 10_000)).code, 4401, token.slice(0, 12))
  }
  // The lab node learns of the sign-out on its next poll of the relay (every 200 ms here) and closes
  // her open socket then, although her terminal sends nothing meanwhile (a stock client renews its
  // awareness only every 15 s).
  const aliceClosed = closed(order.provider, 5_000)
  const signOut = await fetch(`${relay.url}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${alice.token}` } })
  assert.is(signOut.status, 200)
  assert.is((await aliceClosed).code, 4401, "Alice's quiet LAN socket closed after sign-out")
  const after = terminal(lab, `user/${alice.userId}`, alice.token)
  assert.is((await closed(after.provider, 10_000)).code, 4401)
})

test('the store link cut again and again in the middle of syncing loses and duplicates nothing', async () => {
  const { printDir, relay } = await relayAndPrints()
  const relayAddress = new URL(relay.url)
  const link = await startFlakyProxy({ host: relayAddress.hostname, port: Number(relayAddress.port) })
  cleanups.push(() => link.close())
  const me = await signUp(relay.url)
  const lab = await startLabNode(link.url, printDir)

  // One draft edited from the store (items appended one write at a time) while the relay's side
  // edits the same draft from the customer's phone at home, and the link flaps all along.
  const image = await uploadPhoto(lab.lanUrl!, me.token, await makePhoto(6))
  const { orderId, store, home } = await draftFromStore(lab, relay, me)
  await synced(home.provider, 10_000)
  await waitFor(() => home.doc.getMap('spec').get('id') === orderId, 'the draft at the relay', 20_000)

  let flapping = true
  const flaps = (async () => {
    while (flapping) {
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 350))
      link.cut()
      if (Math.random() < 0.3) { link.setDown(true); await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400)); link.setDown(false) }
    }
  })()
  const itemsAt = (doc: Y.Doc) => doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>
  const add = (doc: Y.Doc, tag: string) => {
    const item = new Y.Map<unknown>()
    item.set('image', image); item.set('product', 'L'); item.set('qty', 1); item.set('template', tag)
    itemsAt(doc).push([item])
  }
  for (let i = 0; i < 300; i++) {
    add(store.doc, `store-${i}`)
    if (i % 3 === 0) add(home.doc, `home-${i}`)
    if (i % 25 === 24) itemsAt(store.doc).delete(0, 1) // deletions travel too
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  flapping = false
  await flaps
  assert.ok(link.cuts >= 10, `the link was cut ${link.cuts} times`)

  const tags = (doc: Y.Doc) => itemsAt(doc).toArray().map((item) => item.get('template') as string)
  const expected = 300 + 100 - 12
  await waitFor(() => tags(home.doc).length === expected && tags(store.doc).length === expected, `both sides at ${expected} items`, 30_000)
  assert.equal(tags(home.doc), tags(store.doc), 'the same items in the same order on both sides')
  assert.is(new Set(tags(home.doc)).size, expected, 'no item twice')

  // And what the relay stored is all of it: a fresh client after the dust settles reads the same.
  const fresh = connect(relay, `order/${orderId}`, me.token)
  providers.push(fresh.provider)
  await synced(fresh.provider, 10_000)
  assert.equal(tags(fresh.doc), tags(store.doc))
})

test('with --tls-cert/--tls-key the in-store server speaks wss and https', async () => {
  const { printDir, relay } = await relayAndPrints()
  const me = await signUp(relay.url)
  const { cert, key } = selfSignedCertificate()
  const files = tempDir('labsync-tls-')
  cleanups.push(() => removeDir(files))
  writeFileSync(join(files, 'cert.pem'), cert)
  writeFileSync(join(files, 'key.pem'), key)
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${printDir}`, listen: '127.0.0.1:0', tlsCert: join(files, 'cert.pem'), tlsKey: join(files, 'key.pem') })
  cleanups.push(() => lab.kill())
  assert.match(lab.lanUrl!, /^https:\/\/127\.0\.0\.1:\d+$/)
  const health = await new Promise<string>((resolve, reject) => {
    httpsGet(`${lab.lanUrl}/healthz`, { ca: cert }, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body)) }).on('error', reject)
  })
  assert.is(JSON.parse(health).lab, 'lab-1')
  // A stock y-websocket client over wss, trusting the store's certificate, syncs the catalog.
  await waitUntil(async () => JSON.parse(await new Promise<string>((resolve, reject) => {
    httpsGet(`${lab.lanUrl}/healthz`, { ca: cert }, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body)) }).on('error', reject)
  })).catalog, 'the catalog at the lab node', 15_000)
  class TrustingWebSocket extends WebSocket { constructor(url: string, protocols?: string[]) { super(url, protocols, { ca: cert }) } }
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${lab.lanUrl!.replace(/^https/, 'wss')}/sync`, 'catalog', doc, { params: { token: me.token }, WebSocketPolyfill: TrustingWebSocket as unknown as typeof globalThis.WebSocket, disableBc: true })
  providers.push({ destroy: () => { provider.destroy(); provider.awareness.destroy() } })
  await waitFor(() => doc.getMap('catalog').get('currency') === 'JPY', 'the catalog over wss', 10_000)
})

test('lab --tls-cert without --listen, or with an unreadable file, is refused with exit 2', async () => {
  const base = [LABSYNC, 'lab', '--relay', 'http://127.0.0.1:9', '--lab', 'lab-1', '--key', 'k', '--printer', 'file:/tmp/x']
  const noListen = spawnSync(process.execPath, [...base, '--tls-cert', '/nonexistent', '--tls-key', '/nonexistent'], { encoding: 'utf8' })
  assert.is(noListen.status, 2)
  assert.match(noListen.stderr, /give --listen too/)
  const missing = spawnSync(process.execPath, [...base, '--listen', '127.0.0.1:0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], { encoding: 'utf8' })
  assert.is(missing.status, 2)
  assert.match(missing.stderr, /--tls-cert "\/nonexistent\/cert.pem" cannot be read \(ENOENT\)/)
})

test('lab --listen refuses a bad address with exit 2', async () => {
  const run = spawnSync(process.execPath, [LABSYNC, 'lab', '--relay', 'http://127.0.0.1:9', '--lab', 'lab-1', '--key', 'k', '--printer', 'file:/tmp/x', '--listen', 'nowhere'], { encoding: 'utf8' })
  assert.is(run.status, 2)
  assert.match(run.stderr, /--listen "nowhere" is not HOST:PORT/)
})

/** The receipt's status once the relay has decided: accepted or rejected, not waiting for photos. */
function decided(status: unknown): string | null {
  return status === 'accepted' || status === 'rejected' ? status : null
}

test.run()
