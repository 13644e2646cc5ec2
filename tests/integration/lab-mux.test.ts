// The lab node's one socket to the relay (issue 19 point 3): a real relay and a real lab node
// process, with a proxy in between that counts WebSocket connections from outside. The lab prints
// its assigned orders over one `/sync-mux` socket however many of their documents it holds open
// (the print loop's and the console's), and a relay SIGKILLed and restarted loses nothing and
// gets nothing printed twice.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { writeSpec } from '../../shared/schema.ts'
import { connect, makePhoto, newOrderId, removeDir, signUp, startRelay, synced, tempDir, uploadPhoto, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, startLab, type LabProcess } from '../helpers/lab.ts'
import { freePort } from '../helpers/ippeveprinter.ts'
import { startCountingProxy, until, type CountingProxy } from './lab-mux-proxy.ts'

const OPERATOR_TOKEN = 'operator-secret-mux'
const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Stack { relay: RelayProcess; proxy: CountingProxy; prints: string }

async function stack(): Promise<Stack> {
  const s = { relay: await startRelay({ config: ONE_LAB_CONFIG }), prints: tempDir('labsync-mux-prints-') } as Stack
  cleanups.push(async () => { await s.relay.kill(); removeDir(s.relay.dataDir); removeDir(s.prints) })
  s.proxy = await startCountingProxy(Number(new URL(s.relay.url).port))
  cleanups.push(() => s.proxy.close())
  return s
}

async function labNode(s: Stack, options: { auto: boolean; console?: string }): Promise<LabProcess> {
  const lab = await startLab({
    relayUrl: s.proxy.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${s.prints}`, auto: options.auto,
    console: options.console, operatorToken: options.console ? OPERATOR_TOKEN : undefined,
  })
  cleanups.push(async () => { await lab.kill(); removeDir(lab.dataDir) })
  return lab
}

/** `count` submitted one-print orders of one customer, each accepted by the relay; their documents stay open here. */
async function placeOrders(relay: RelayProcess, count: number): Promise<Array<{ orderId: string; progress: () => unknown }>> {
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(3, 320, 240))
  const placed = []
  for (let i = 0; i < count; i++) {
    const orderId = newOrderId()
    const c = connect(relay, `order/${orderId}`, me.token)
    cleanups.push(() => c.provider.destroy())
    await synced(c.provider, 10_000)
    writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: photo, product: 'L', qty: 1 }] })
    await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
    placed.push({ orderId, progress: () => c.doc.getMap('progress').get('status') })
  }
  return placed
}

const printFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.jpg'))

function historyRows(relay: RelayProcess): Array<{ id: string; order_id: string; item: number }> {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try { return db.prepare('SELECT id, order_id, item FROM history').all() as Array<{ id: string; order_id: string; item: number }> } finally { db.close() }
}

test('the lab node holds one socket at the relay while the console shows 12 orders and the print loop prints them all', async () => {
  const s = await stack()
  const orders = await placeOrders(s.relay, 12)
  const consoleAt = `127.0.0.1:${await freePort()}`
  const lab = await labNode(s, { auto: false, console: consoleAt })
  // The console opens every listed order's document (up to 50) and keeps them open.
  await until(async () => {
    const res = await fetch(`http://${consoleAt}/api/queue`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } })
    const body = await res.json() as { orders: Array<{ number: string | null }> }
    return body.orders.length === 12 && body.orders.every((order) => order.number !== null)
  }, 'the console to show the 12 orders with their numbers', 20_000)
  assert.equal(s.proxy.openSockets(), ['/sync-mux'], 'the lab, the catalog and 12 orders on one socket')
  lab.command('all')
  await waitFor(() => orders.every((order) => order.progress() === 'printed'), 'every order printed, as the customer sees it', 60_000)
  assert.is(printFiles(s.prints).length, 12)
  assert.equal(s.proxy.openSockets(), ['/sync-mux'])
  assert.is(s.proxy.mostOpen, 1, `never more than one socket (paths seen: ${s.proxy.paths.join(', ')})`)
})

test('a relay SIGKILLed in the middle and restarted: every order printed once, every history entry stored once, still one socket', async () => {
  const s = await stack()
  const orders = await placeOrders(s.relay, 6)
  const lab = await labNode(s, { auto: true })
  await lab.waitForOutput(/order \S+: printed/, 30_000)
  await s.relay.kill()
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  s.relay = await s.relay.restart()
  const later = await placeOrders(s.relay, 2)
  const all = [...orders, ...later]
  await waitFor(() => all.every((order) => order.progress() === 'printed'), 'every order printed after the restart', 60_000)
  await waitFor(() => historyRows(s.relay).length >= all.length, 'the history of every print at the relay', 20_000)
  const rows = historyRows(s.relay)
  assert.is(rows.length, all.length, 'one history entry per item')
  assert.is(new Set(rows.map((row) => `${row.order_id}/${row.item}`)).size, all.length, 'no item recorded twice')
  assert.is(printFiles(s.prints).length, all.length, 'one print file per item: nothing printed twice')
  assert.ok(s.proxy.paths.length >= 2, 'the lab reconnected')
  assert.ok(s.proxy.paths.every((path) => path === '/sync-mux'), `only mux sockets: ${s.proxy.paths.join(', ')}`)
  assert.is(s.proxy.mostOpen, 1, 'never more than one socket at once')
})

test.run()
