// The relay's sync endpoint through stock y-websocket clients: syncing, durability across
// SIGKILL, unload and reload, compaction, and malformed or oversized frames.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { connect, startRelay, signUp, synced, waitFor, closed, removeDir, type RelayProcess } from '../helpers/relay.ts'

let relay: RelayProcess
const open: Array<{ provider: { destroy(): void } }> = []
const client = (room: string, token: string, doc?: Y.Doc) => {
  const c = connect(relay, room, token, doc)
  open.push(c)
  return c
}

test.before(async () => {
  relay = await startRelay({ env: { LABSYNC_ROOM_IDLE_MS: '300', LABSYNC_COMPACT_AFTER: '10' } })
})
test.after.each(() => {
  for (const c of open.splice(0)) c.provider.destroy()
})
test.after(async () => {
  await relay.stop()
  removeDir(relay.dataDir)
})

test('a stock WebsocketProvider syncs a user document between two devices', async () => {
  const me = await signUp(relay.url)
  const phone = client(`user/${me.userId}`, me.token)
  const tablet = client(`user/${me.userId}`, me.token)
  await Promise.all([synced(phone.provider), synced(tablet.provider)])
  phone.doc.getMap('profile').set('home', 'store-1')
  await waitFor(() => tablet.doc.getMap('profile').get('home') === 'store-1', 'the tablet to see the write')
})

test('every signed-in client reads the catalog built from the config', async () => {
  const me = await signUp(relay.url)
  const c = client('catalog', me.token)
  await synced(c.provider)
  const catalog = c.doc.getMap('catalog').toJSON()
  assert.ok(Array.isArray(catalog.products) && catalog.products.length > 0, 'products listed')
  assert.equal(catalog.currency, 'JPY')
  assert.not.ok(JSON.stringify(catalog).includes('demo-lab-key'), 'no lab key in the catalog')
  assert.not.ok(JSON.stringify(catalog).includes('demo-admin-token'), 'no admin token in the catalog')
})

test('a write the client saw echoed survives SIGKILL of the relay', async () => {
  const me = await signUp(relay.url)
  const writer = client(`user/${me.userId}`, me.token)
  await synced(writer.provider)
  const echoes: Uint8Array[] = []
  ;(writer.provider.ws as unknown as WebSocket).on('message', (data: Buffer) => echoes.push(new Uint8Array(data)))
  writer.doc.getMap('drafts').set('d1', 'written just before the crash')
  // sync message (0), update (2): the relay echoes a write to its writer only once it is durable
  await waitFor(() => echoes.some((m) => m[0] === 0 && m[1] === 2), 'the echo of the write')
  await relay.kill()
  relay = await relay.restart()
  const reader = client(`user/${me.userId}`, me.token)
  await synced(reader.provider)
  assert.is(reader.doc.getMap('drafts').get('d1'), 'written just before the crash')
})

test('an idle document is unloaded and reloads with its content', async () => {
  const me = await signUp(relay.url)
  const a = client(`user/${me.userId}`, me.token)
  await synced(a.provider)
  a.doc.getMap('drafts').set('kept', 42)
  await waitFor(() => a.provider.synced, 'synced')
  a.provider.destroy()
  const rooms = async () => ((await (await fetch(`${relay.url}/healthz`)).json()) as { rooms: number }).rooms
  let unloaded = false
  for (let i = 0; i < 100 && !unloaded; i++) {
    await new Promise((r) => setTimeout(r, 50))
    unloaded = (await rooms()) <= 1 // only the catalog may stay
  }
  assert.ok(unloaded, 'the room was unloaded')
  const b = client(`user/${me.userId}`, me.token)
  await synced(b.provider)
  assert.is(b.doc.getMap('drafts').get('kept'), 42)
})

test('a long update log is compacted into a snapshot that keeps every write', async () => {
  const me = await signUp(relay.url)
  const a = client(`user/${me.userId}`, me.token)
  await synced(a.provider)
  for (let i = 0; i < 35; i++) {
    a.doc.getMap('counts').set(`k${i}`, i)
    await new Promise((r) => setTimeout(r, 5))
  }
  const b = client(`user/${me.userId}`, me.token)
  await synced(b.provider)
  await waitFor(() => b.doc.getMap('counts').size === 35, 'all 35 writes at a second client')
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  const rows = db.prepare('SELECT count(*) AS n FROM doc_updates WHERE doc = ?').get(`user/${me.userId}`) as { n: number }
  db.close()
  assert.ok(rows.n < 35, `the log was compacted (${rows.n} rows for 35 writes)`)
  await relay.stop()
  relay = await relay.restart()
  const c = client(`user/${me.userId}`, me.token)
  await synced(c.provider)
  assert.is(c.doc.getMap('counts').size, 35)
})

/** A raw socket, for frames no stock client would send. */
function rawSocket(room: string, token: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${relay.wsUrl}/sync/${room}?token=${token}`)
  const closedCode = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, closed: closedCode }))
    ws.on('error', reject)
  })
}

async function relayStillServes(token: string, userId: string): Promise<void> {
  assert.is((await fetch(`${relay.url}/healthz`)).status, 200)
  const c = client(`user/${userId}`, token)
  await synced(c.provider)
}

for (const [name, frame, code] of [
  ['an unknown message type', Uint8Array.of(9, 1, 2, 3), 4400],
  ['a truncated sync message', Uint8Array.of(0, 2, 200), 4400],
  ['an update Yjs cannot decode', Uint8Array.of(0, 2, 5, 255, 255, 255, 255, 255), 4400],
  ['garbage awareness', Uint8Array.of(1, 4, 1, 2, 3, 4), 4400],
] as const) {
  test(`${name} closes that socket with ${code} and the relay stays healthy`, async () => {
    const me = await signUp(relay.url)
    const { ws, closed: closedCode } = await rawSocket(`user/${me.userId}`, me.token)
    ws.send(frame)
    assert.is(await closedCode, code)
    await relayStillServes(me.token, me.userId)
  })
}

test('a signed-out token opens nothing more, however recently it was used', async () => {
  const me = await signUp(relay.url)
  const before = client(`user/${me.userId}`, me.token)
  await synced(before.provider) // the relay has just looked this session up
  const out = await fetch(`${relay.url}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${me.token}` } })
  assert.is(out.status, 200)
  const after = client(`user/${me.userId}`, me.token)
  assert.is((await closed(after.provider)).code, 4401)
  const images = await fetch(`${relay.url}/api/images/${'a'.repeat(64)}`, { headers: { authorization: `Bearer ${me.token}` } })
  assert.is(images.status, 401)
})

test('a text frame closes that socket with 4400', async () => {
  const me = await signUp(relay.url)
  const { ws, closed: closedCode } = await rawSocket(`user/${me.userId}`, me.token)
  ws.send('hello')
  assert.is(await closedCode, 4400)
})

test('an oversized frame closes that socket with 4413 and the relay stays healthy', async () => {
  const me = await signUp(relay.url)
  const { ws, closed: closedCode } = await rawSocket(`user/${me.userId}`, me.token)
  ws.send(new Uint8Array(9 * 1024 * 1024))
  assert.is(await closedCode, 4413)
  await relayStillServes(me.token, me.userId)
})

test('a room name with broken %-escapes is refused like any unknown room, and the relay stays up', async () => {
  const me = await signUp(relay.url)
  const ws = new WebSocket(`${relay.wsUrl}/sync/user%E0%A4?token=${me.token}`)
  const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)))
  assert.is(code, 4403)
  assert.is((await fetch(`${relay.url}/%E0%A4`)).status, 404)
  await relayStillServes(me.token, me.userId)
})

test('a stock client refused with 44xx stops reconnecting', async () => {
  const me = await signUp(relay.url)
  const other = await signUp(relay.url)
  const c = client(`user/${other.userId}`, me.token)
  const event = await closed(c.provider)
  assert.is(event.code, 4403)
  await new Promise((r) => setTimeout(r, 500))
  assert.is(c.provider.shouldConnect, false, 'the provider gave up')
})

test.run()
