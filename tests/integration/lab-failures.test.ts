// An order the lab cannot print ends `failed` with its reason, once, journaled, and the next
// order prints (issue 13, point 2).
//
// The first tests drive printOrder directly with a Y.Doc built here, through a FAKE relay link
// (openOrder hands over that document, photo() serves bytes from memory): the relay is being
// hardened to refuse such specs, so a malformed order can reach the lab only through a relay
// that has a bug, and these tests must not depend on one. The printer (a real folder), the
// journal (real SQLite) and the rendering are the real ones.
//
// The last test runs a real lab process against a real relay with an order the relay accepts
// and the lab cannot print (a frame the lab does not have): failed once, the next order prints,
// not retried after a restart, and the operator's `skip` and `retry`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Catalog } from '../../shared/schema.ts'
import { writeSpec } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { printOrder, type PrintContext } from '../../lab-node/print-order.ts'
import { connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, sha256Hex, uploadPhoto, newOrderId, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'

const PRODUCT = { id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }
const CATALOG: Catalog = {
  currency: 'JPY', timeZone: 'Asia/Tokyo', products: [PRODUCT], templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', price: {} }], fronts: [], discounts: { scope: 'user', tiers: [] } as unknown as Catalog['discounts'],
}

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Bench { ctx: PrintContext; journal: Journal; printer: FilePrinter; docs: Map<string, Y.Doc>; photo: string; lines: string[]; opened: string[] }

/** printOrder's world: a real folder printer and journal; a fake link serving the documents built here. */
async function bench(): Promise<Bench> {
  const dir = tempDir('labsync-lab-failures-')
  cleanups.push(() => removeDir(dir))
  const journal = new Journal(join(dir, 'lab.sqlite'))
  cleanups.push(() => journal.close())
  const printer = new FilePrinter(join(dir, 'prints'))
  cleanups.push(() => printer.close())
  const bytes = await makePhoto(3, 320, 240)
  const photo = sha256Hex(bytes)
  const docs = new Map<string, Y.Doc>()
  const lines: string[] = []
  const opened: string[] = []
  const link: PrintContext['link'] = {
    async openOrder(orderId) {
      opened.push(orderId)
      const doc = docs.get(orderId)
      if (!doc) throw new Error(`the relay refused order/${orderId}: forbidden (4403)`)
      return { doc, close() {}, acknowledged: async () => [] }
    },
    async photo(sha) {
      if (sha !== photo) throw new Error(`photo ${sha.slice(0, 12)}… not available from the relay (HTTP 404)`)
      return bytes
    },
  }
  const ctx: PrintContext = { labId: 'lab-1', fleet: new PrinterFleet([printer]), journal, link, catalog: CATALOG, log: (line) => lines.push(line), retry: { attempts: 2, baseMs: 10, maxMs: 20 } }
  return { ctx, journal, printer, docs, photo, lines, opened }
}

/** An order as the relay leaves it once accepted for lab-1; `spec` writes the customer's part. */
function order(b: Bench, spec: (doc: Y.Doc, orderId: string) => void): string {
  const orderId = newOrderId()
  const doc = new Y.Doc()
  spec(doc, orderId)
  doc.transact(() => {
    const receipt = doc.getMap('receipt')
    receipt.set('status', 'accepted')
    receipt.set('lab', 'lab-1')
    receipt.set('receivedAt', new Date().toISOString())
  })
  b.docs.set(orderId, doc)
  cleanups.push(() => doc.destroy())
  return orderId
}

const goodSpec = (b: Bench, qty = 1) => (doc: Y.Doc, orderId: string) =>
  writeSpec(doc, { id: orderId, user: 'u1', front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: b.photo, product: 'L', qty }] })

/** The spec a client that skips Yjs types writes: `items` a Y.Array of plain objects, or a plain array. */
const plainItems = (b: Bench, asArray: boolean) => (doc: Y.Doc, orderId: string) => doc.transact(() => {
  const spec = doc.getMap('spec')
  for (const [k, v] of Object.entries({ id: orderId, user: 'u1', front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted' })) spec.set(k, v)
  const items = [{ image: b.photo, product: 'L', qty: 1 }]
  if (asArray) spec.set('items', items)
  else { const array = new Y.Array(); array.push(items); spec.set('items', array) }
})

const jpegs = (b: Bench) => (existsSync(b.printer.dir) ? readdirSync(b.printer.dir).filter((f) => f.endsWith('.jpg')) : [])
const progress = (b: Bench, orderId: string) => b.docs.get(orderId)!.getMap('progress').toJSON() as { status?: string; reason?: string }

async function failsOnceThenNextPrints(b: Bench, bad: string, reason: RegExp): Promise<void> {
  const outcome = await printOrder(b.ctx, bad)
  assert.is(outcome.status, 'failed', JSON.stringify(outcome))
  assert.match((outcome as { reason: string }).reason, reason)
  assert.is(progress(b, bad).status, 'failed')
  assert.match(String(progress(b, bad).reason), reason)
  assert.is(b.journal.orderState(bad)?.state, 'failed', 'journaled, so the lab does not take it again')
  assert.is(b.lines.filter((l) => l.includes(`order ${bad}: failed`)).length, 1, `reported once:\n${b.lines.join('\n')}`)
  const good = order(b, goodSpec(b))
  assert.equal(await printOrder(b.ctx, good), { status: 'printed' })
  assert.is(jpegs(b).length, 1, 'the next order printed, the bad one nothing')
}

test('items written as plain objects in a Y.Array: failed once with the reason, the next order prints', async () => {
  const b = await bench()
  await failsOnceThenNextPrints(b, order(b, plainItems(b, false)), /Print 1 is not in the form/)
})

test('items written as a plain JSON array: failed once with the reason, the next order prints', async () => {
  const b = await bench()
  await failsOnceThenNextPrints(b, order(b, plainItems(b, true)), /prints are not in the form/)
})

test('an order without spec.id: failed once with the reason, the next order prints', async () => {
  const b = await bench()
  const bad = order(b, (doc, orderId) => { goodSpec(b)(doc, orderId); doc.getMap('spec').delete('id') })
  await failsOnceThenNextPrints(b, bad, /id .*does not match the order/)
})

test('an unknown product, a photo the relay does not have, a throw from the printer: each failed once, nothing printed', async () => {
  const b = await bench()
  const unknownProduct = order(b, (doc, orderId) => { goodSpec(b)(doc, orderId); (doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).get(0).set('product', 'XXL') })
  const missingPhoto = order(b, (doc, orderId) => { goodSpec(b)(doc, orderId); (doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).get(0).set('image', 'f'.repeat(64)) })
  const badQty = order(b, goodSpec(b, 0))
  for (const [orderId, reason] of [[unknownProduct, /unknown product XXL/], [missingPhoto, /not available/], [badQty, /copies/]] as const) {
    const outcome = await printOrder(b.ctx, orderId)
    assert.is(outcome.status, 'failed')
    assert.match((outcome as { reason: string }).reason, reason)
    assert.is(b.journal.orderState(orderId)?.state, 'failed')
  }
  const throwing = order(b, goodSpec(b))
  b.printer.submit = async () => { throw new TypeError('something no one expected') }
  const outcome = await printOrder(b.ctx, throwing)
  assert.equal(outcome, { status: 'failed', reason: 'item 1: something no one expected' })
  assert.is(progress(b, throwing).status, 'failed')
  assert.is(jpegs(b).length, 0)
})

// ------------------------------------------------------------------ a real lab process

const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [PRODUCT],
  // `gold-frame` is in the catalog (the relay accepts it) but the lab has no such frame file.
  templates: [{ id: 'plain', name: 'No frame' }, { id: 'gold-frame', name: 'Gold frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 0, roles: ['reception'] }],
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

async function placeOrder(relay: RelayProcess, me: { userId: string; token: string }, photo: string, template: string) {
  const orderId = newOrderId()
  const c = connect(relay, `order/${orderId}`, me.token)
  cleanups.push(() => c.provider.destroy())
  await synced(c.provider)
  writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: photo, product: 'L', qty: 1, template }] })
  await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
  return { orderId, doc: c.doc }
}

test('a real lab: an order it cannot print fails once and the next prints; not taken again after a restart; skip and retry', async () => {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const prints = tempDir('labsync-prints-')
  cleanups.push(() => removeDir(prints))
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(5, 320, 240))
  const bad = await placeOrder(relay, me, photo, 'gold-frame')
  const good = await placeOrder(relay, me, photo, 'plain')
  const dataDir = tempDir('labsync-lab-')
  const start = async (auto: boolean): Promise<LabProcess> => {
    const node = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, auto, dataDir })
    cleanups.push(() => node.kill())
    return node
  }
  const files = () => readdirSync(prints).filter((f) => f.endsWith('.jpg'))
  const status = (o: { doc: Y.Doc }) => o.doc.getMap('progress').get('status')

  let node = await start(true)
  await waitFor(() => status(good) === 'printed', 'the next order printed', 20_000)
  await waitFor(() => status(bad) === 'failed', 'the bad order failed', 5_000)
  assert.match(String(bad.doc.getMap('progress').get('reason')), /gold-frame/)
  assert.is(files().length, 1)
  await new Promise((r) => setTimeout(r, 500))
  const attempts = (lab: LabProcess) => lab.output().split('\n').filter((l) => l.includes(`order ${bad.orderId}: failed`)).length
  assert.is(attempts(node), 1, `failed once, not retried:\n${node.output()}`)

  // A restart does not take the failed order again by itself.
  await node.stop()
  node = await start(true)
  await node.waitForOutput(/queue: 0 order\(s\) waiting/)
  await new Promise((r) => setTimeout(r, 500))
  assert.is(attempts(node), 0, `not retried after a restart:\n${node.output()}`)

  // The operator's retry takes it once more (it fails again: the frame is still missing)...
  node.command(`retry ${bad.orderId}`)
  await node.waitForOutput(new RegExp(`order ${bad.orderId}: failed`), 10_000)
  // ...and skip reports it failed "skipped by the operator" at the relay, where an admin may reassign it.
  node.command(`skip ${bad.orderId}`)
  await waitFor(() => bad.doc.getMap('progress').get('reason') === 'skipped by the operator', 'the skip at the relay', 10_000)
  assert.is(status(bad), 'failed')
  assert.is(files().length, 1, 'nothing more printed')
})

test.run()
