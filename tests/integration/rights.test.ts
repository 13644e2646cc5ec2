// SPEC.md's rights table, rooms `catalog`, `user/<id>` and `lab/<id>`, against a real relay through
// stock y-websocket clients: who may open each room, whose writes are refused, told and never
// stored; how unknown room names and missing or bad tokens are answered.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import type { WebsocketProvider } from 'y-websocket'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { connect, startRelay, signUp, synced, waitFor, closed, permissionDenials, removeDir, type RelayProcess } from '../helpers/relay.ts'

const ADMIN = 'demo-admin-token'
const LAB = 'demo-lab'
const LAB_KEY = 'demo-lab-key'
const OTHER_LAB_KEY = 'other-lab-key'
const CONFIG = { ...DEMO_CONFIG, labs: [...DEMO_CONFIG.labs, { id: 'other-lab', name: 'Other lab', key: OTHER_LAB_KEY, price: {} }] }

let relay: RelayProcess
const open: WebsocketProvider[] = []
const client = (room: string, token: string) => {
  const c = connect(relay, room, token)
  open.push(c.provider)
  return c
}
const destroyClients = () => { for (const p of open.splice(0)) p.destroy() }

test.before(async () => { relay = await startRelay({ config: CONFIG }) })
test.after.each(destroyClients)
test.after(async () => {
  destroyClients()
  await relay.stop()
  removeDir(relay.dataDir)
})

/** A synced client that records the permission-denied messages it is sent. */
async function writer(room: string, token: string) {
  const c = client(room, token)
  const denials = permissionDenials(c.provider)
  await synced(c.provider)
  return { ...c, denials }
}

/** Waits until the writer was told its write was refused, and returns what it was told. */
async function refusal(denials: string[]): Promise<string> {
  await waitFor(() => denials.length > 0, 'a permission-denied message')
  assert.ok(denials[0].startsWith('write refused:'), `told why: ${denials[0]}`)
  return denials[0]
}

/** The room as a client that connects now sees it. */
async function freshView(room: string, token: string): Promise<Y.Doc> {
  const c = client(room, token)
  await synced(c.provider)
  return c.doc
}

async function closeCode(room: string, token: string): Promise<number> {
  return (await closed(client(room, token).provider)).code
}

/** Gives a write that would be passed on time to arrive before asserting it did not. */
const settle = () => new Promise((r) => setTimeout(r, 300))

// ---------------------------------------------------------------- catalog

test('a signed-in customer reads the catalog', async () => {
  const me = await signUp(relay.url)
  assert.ok((await freshView('catalog', me.token)).getMap('catalog').get('products'))
})

test('a lab reads the catalog', async () => {
  assert.ok((await freshView('catalog', LAB_KEY)).getMap('catalog').get('products'))
})

test('an admin reads the catalog', async () => {
  assert.ok((await freshView('catalog', ADMIN)).getMap('catalog').get('products'))
})

for (const who of ['customer', 'lab', 'admin'] as const) {
  test(`a ${who}'s write to the catalog is refused, the writer is told, and nothing is stored`, async () => {
    const token = who === 'customer' ? (await signUp(relay.url)).token : who === 'lab' ? LAB_KEY : ADMIN
    const w = await writer('catalog', token)
    w.doc.transact(() => {
      w.doc.getMap('catalog').set('currency', 'USD')
      w.doc.getMap('catalog').set('forged', true)
    })
    await refusal(w.denials)
    const catalog = (await freshView('catalog', (await signUp(relay.url)).token)).getMap('catalog')
    assert.is(catalog.get('currency'), 'JPY')
    assert.not.ok(catalog.has('forged'))
  })
}

// ---------------------------------------------------------------- user/<userId>

test('a customer reads and writes their own user document, from any device', async () => {
  const me = await signUp(relay.url)
  const phone = await writer(`user/${me.userId}`, me.token)
  phone.doc.getMap('profile').set('home', 'demo-store')
  const tablet = client(`user/${me.userId}`, me.token)
  await waitFor(() => tablet.doc.getMap('profile').get('home') === 'demo-store', 'the second device to see the write')
  assert.equal(phone.denials, [])
})

test('another customer cannot open a user document: 4403', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  assert.is(await closeCode(`user/${me.userId}`, other.token), 4403)
})

test('a lab cannot open a user document: 4403', async () => {
  const me = await signUp(relay.url)
  assert.is(await closeCode(`user/${me.userId}`, LAB_KEY), 4403)
})

test('an admin reads a customer\'s user document', async () => {
  const me = await signUp(relay.url)
  const phone = await writer(`user/${me.userId}`, me.token)
  phone.doc.getMap('profile').set('name', 'Hanako')
  const seen = client(`user/${me.userId}`, ADMIN)
  await waitFor(() => seen.doc.getMap('profile').get('name') === 'Hanako', 'the admin to see the customer\'s write')
})

test('an admin\'s write to a user document is refused, the admin is told, and nothing is stored', async () => {
  const me = await signUp(relay.url)
  const admin = await writer(`user/${me.userId}`, ADMIN)
  admin.doc.getMap('profile').set('name', 'written by an admin')
  await refusal(admin.denials)
  assert.is((await freshView(`user/${me.userId}`, me.token)).getMap('profile').get('name'), undefined)
})

// ---------------------------------------------------------------- lab/<labId>

test('a lab reads its own lab document', async () => {
  const c = client(`lab/${LAB}`, LAB_KEY)
  await synced(c.provider)
  assert.ok(c.provider.wsconnected)
})

test('another lab\'s key cannot open a lab document: 4403', async () => {
  assert.is(await closeCode(`lab/${LAB}`, OTHER_LAB_KEY), 4403)
})

test('a customer cannot open a lab document: 4403', async () => {
  const me = await signUp(relay.url)
  assert.is(await closeCode(`lab/${LAB}`, me.token), 4403)
})

test('an admin reads a lab document', async () => {
  const c = client(`lab/${LAB}`, ADMIN)
  await synced(c.provider)
  assert.ok(c.provider.wsconnected)
})

test('the lab writes history, and an admin watching the lab document sees the entry', async () => {
  const admin = client(`lab/${LAB}`, ADMIN)
  await synced(admin.provider)
  const seen: unknown[] = []
  admin.doc.getArray('history').observe((event) => {
    for (const item of event.changes.added) seen.push(...item.content.getContent())
  })
  const lab = await writer(`lab/${LAB}`, LAB_KEY)
  const entry = { id: `h-${Date.now()}`, order: 'o-none', item: 0, printer: 'file', job: 1, copies: 1, status: 'completed', printedAt: new Date().toISOString() }
  lab.doc.getArray('history').push([entry])
  await waitFor(() => seen.some((e) => (e as { id: string }).id === entry.id), 'the admin to see the history entry')
  assert.equal(lab.denials, [])
})

test('the lab\'s write to its queue is refused, the lab is told, and nothing is stored', async () => {
  const lab = await writer(`lab/${LAB}`, LAB_KEY)
  lab.doc.getMap('queue').set('forged-order', { receivedAt: new Date().toISOString(), front: 'demo-store' })
  await refusal(lab.denials)
  assert.not.ok((await freshView(`lab/${LAB}`, ADMIN)).getMap('queue').has('forged-order'))
})

test('a refused queue write stays unstored across a relay restart', async () => {
  const lab = await writer(`lab/${LAB}`, LAB_KEY)
  lab.doc.getMap('queue').set('forged-before-restart', { receivedAt: new Date().toISOString(), front: 'demo-store' })
  await refusal(lab.denials)
  destroyClients()
  await relay.stop()
  relay = await relay.restart()
  assert.not.ok((await freshView(`lab/${LAB}`, LAB_KEY)).getMap('queue').has('forged-before-restart'))
})

test('an admin\'s write to a lab document is refused and not stored', async () => {
  const admin = await writer(`lab/${LAB}`, ADMIN)
  admin.doc.getMap('queue').set('admin-order', { receivedAt: new Date().toISOString(), front: 'demo-store' })
  await refusal(admin.denials)
  assert.not.ok((await freshView(`lab/${LAB}`, LAB_KEY)).getMap('queue').has('admin-order'))
})

test('a refused write is not passed on to another client in the same room', async () => {
  const admin = client(`lab/${LAB}`, ADMIN)
  await synced(admin.provider)
  const forger = await writer(`lab/${LAB}`, LAB_KEY)
  forger.doc.getMap('queue').set('passed-on?', { receivedAt: new Date().toISOString(), front: 'demo-store' })
  await refusal(forger.denials)
  // A later accepted write from another device reaches the watcher; the refused one must not have.
  const honest = await writer(`lab/${LAB}`, LAB_KEY)
  const marker = `after-${Date.now()}`
  const seen: string[] = []
  admin.doc.getArray('history').observe((event) => {
    for (const item of event.changes.added) for (const e of item.content.getContent()) seen.push((e as { id: string }).id)
  })
  honest.doc.getArray('history').push([{ id: marker, order: 'o-none', item: 0, printer: 'file', job: 1, copies: 1, status: 'completed', printedAt: new Date().toISOString() }])
  await waitFor(() => seen.includes(marker), 'the accepted write at the watcher')
  await settle()
  assert.not.ok(admin.doc.getMap('queue').has('passed-on?'))
})

// ---------------------------------------------------------------- room names and tokens

test('unknown room names answer with the same close code as a forbidden room', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const forbidden = await closeCode(`user/${other.userId}`, me.token)
  assert.is(forbidden, 4403)
  for (const name of ['nope', 'order/', 'order/a/b', 'user/../x', 'user%2F..%2Fx', 'user/', 'Catalog']) {
    assert.is(await closeCode(name, me.token), forbidden, `room "${name}"`)
  }
})

test('a socket without a token is closed with 4401', async () => {
  const ws = new WebSocket(`${relay.wsUrl}/sync/catalog`)
  const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)))
  assert.is(code, 4401)
})

test('a socket with a token the relay does not know is closed with 4401', async () => {
  assert.is(await closeCode('catalog', 'not-a-real-token'), 4401)
})

test('a bad token is answered 4401 even for a room that does not exist', async () => {
  assert.is(await closeCode('nope', 'not-a-real-token'), 4401)
})

test.run()
