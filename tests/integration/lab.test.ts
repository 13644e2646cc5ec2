// The lab node as a real process against a real relay and a real IPP printer (ippeveprinter):
// pulling assigned orders, print files with the right size and metadata, failures, crashes and
// the history reaching the relay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { execFileSync } from 'node:child_process'
import { chmodSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { writeSpec, type OrderItem } from '../../shared/schema.ts'
import { connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { startIppPrinter, type IppPrinterProcess } from '../helpers/ippeveprinter.ts'

const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }, { id: 'white-border', name: 'White border' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }, { id: 'lab-2', name: 'North lab', key: 'lab-2-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 0, roles: ['reception'] },
    { id: 'store-2', name: 'North store', lab: 'lab-2', fee: 0, roles: ['reception'] }],
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

const cleanups: Array<() => Promise<void> | void> = []
const providers: Array<{ destroy(): void }> = []
test.after.each(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(printerOptions: Parameters<typeof startIppPrinter>[0] = { command: '/bin/true' }) {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const printer = await startIppPrinter(printerOptions)
  cleanups.push(() => printer.stop())
  return { relay, printer }
}

async function lab(relay: RelayProcess, printer: IppPrinterProcess | string, options: { auto?: boolean; dataDir?: string; historyIntervalSeconds?: number } = {}): Promise<LabProcess> {
  const node = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: typeof printer === 'string' ? printer : printer.uri, auto: options.auto ?? true, dataDir: options.dataDir, historyIntervalSeconds: options.historyIntervalSeconds })
  cleanups.push(() => node.kill())
  return node
}

async function placeOrder(relay: RelayProcess, items: Array<Omit<OrderItem, 'image'>>, front = 'store-1') {
  const me = await signUp(relay.url)
  const images: string[] = []
  for (let i = 0; i < items.length; i++) images.push(await uploadPhoto(relay.url, me.token, await makePhoto(i + 7, i % 2 ? 1200 : 1600, i % 2 ? 1600 : 1200)))
  const orderId = newOrderId()
  const c = connect(relay, `order/${orderId}`, me.token)
  providers.push(c.provider)
  await synced(c.provider)
  writeSpec(c.doc, { id: orderId, user: me.userId, front, createdAt: new Date().toISOString(), state: 'draft', items: items.map((item, i) => ({ ...item, image: images[i] })) })
  c.doc.getMap('spec').set('state', 'submitted')
  await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
  return { orderId, doc: c.doc, me }
}

const spooled = (printer: IppPrinterProcess) => readdirSync(printer.spoolDir).filter((f) => f.endsWith('.jpg')).sort()
const progressOf = (doc: { getMap(name: string): { get(key: string): unknown } }) => doc.getMap('progress').get('status')

function historyRows(relay: RelayProcess): Array<Record<string, unknown>> {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try { return db.prepare('SELECT * FROM history ORDER BY item').all() as Array<Record<string, unknown>> } finally { db.close() }
}

test('an assigned order prints on a real IPP printer: one file per item, print size at 600 dpi, the order record in XMP and EXIF', async () => {
  const { relay, printer } = await setup()
  const order = await placeOrder(relay, [{ product: 'L', qty: 2 }, { product: 'L', qty: 1, template: 'white-border' }])
  await lab(relay, printer)
  await waitFor(() => progressOf(order.doc) === 'printed', 'progress printed', 30_000)
  const files = spooled(printer)
  assert.is(files.length, 2, files.join(', '))
  for (const file of files) {
    const meta = await sharp(join(printer.spoolDir, file)).metadata()
    assert.equal([Math.min(meta.width!, meta.height!), Math.max(meta.width!, meta.height!)], [3.5 * 600, 5 * 600], 'L (oe_photo-l_3.5x5in) exactly, at 600 dpi')
    const [tags] = JSON.parse(execFileSync('exiftool', ['-j', '-G', '-api', 'XMPAutoConv=0', join(printer.spoolDir, file)], { encoding: 'utf8' })) as Array<Record<string, unknown>>
    const text = JSON.stringify(tags)
    assert.ok(text.includes(order.orderId), 'order id in the metadata')
    assert.ok(text.includes(order.me.userId), 'user id in the metadata')
    assert.ok(String(tags['EXIF:ImageDescription']).includes(`order=${order.orderId}`), 'EXIF ImageDescription carries the record')
    const number = order.doc.getMap('receipt').get('number') as string
    assert.match(String(tags['EXIF:ImageDescription']), `number=${number}`, 'and the order number the customer and the counter see')
  }
})

test('jobs the printer aborts are reported failed, in the order and in the history', async () => {
  const { relay, printer } = await setup({ command: '/bin/false' })
  const order = await placeOrder(relay, [{ product: 'L', qty: 1 }])
  await lab(relay, printer)
  await waitFor(() => progressOf(order.doc) === 'failed', 'progress failed', 30_000)
  assert.match(String(order.doc.getMap('progress').get('reason')), /aborted/, String(order.doc.getMap('progress').get('reason')))
  await waitFor(() => historyRows(relay).length === 1, 'the history entry at the relay', 10_000)
  assert.is(historyRows(relay)[0].status, 'aborted')
})

test('a lab node SIGKILLed in the middle of an order prints nothing twice after a restart', async () => {
  const slow = join(tempDir('labsync-slow-'), 'slow-print.sh')
  writeFileSync(slow, '#!/bin/sh\nsleep 1\nexit 0\n')
  chmodSync(slow, 0o755)
  const { relay, printer } = await setup({ command: slow as '/bin/true' })
  const order = await placeOrder(relay, [{ product: 'L', qty: 1 }, { product: 'L', qty: 1 }, { product: 'L', qty: 1 }])
  const dataDir = tempDir('labsync-lab-')
  const first = await lab(relay, printer, { dataDir })
  await first.waitForOutput(/item 1\/3 job \S+ completed/, 30_000)
  await first.kill()
  await lab(relay, printer, { dataDir })
  await waitFor(() => progressOf(order.doc) === 'printed', 'progress printed after the restart', 40_000)
  const names = spooled(printer).map((f) => f.replace(/^\d+-/, ''))
  assert.is(names.length, 3, `three files, one per item: ${names.join(', ')}`)
  assert.is(new Set(names).size, 3, 'no item printed twice')
})

test('history reaches the relay within the interval, and after a relay outage', async () => {
  const { relay: firstRelay, printer } = await setup()
  let relay = firstRelay
  const order = await placeOrder(relay, [{ product: 'L', qty: 3 }])
  const node = await lab(relay, printer, { historyIntervalSeconds: 1 })
  await waitFor(() => historyRows(relay).length === 1, 'history within the interval', 10_000)
  assert.is(historyRows(relay)[0].copies, 3)
  assert.is(historyRows(relay)[0].order_id, order.orderId)

  const second = await placeOrder(relay, [{ product: 'L', qty: 1 }])
  await waitFor(() => progressOf(second.doc) === 'printed', 'the second order printed', 30_000)
  await relay.kill() // before the next history flush, most likely; either way nothing may be lost
  await new Promise((r) => setTimeout(r, 1500))
  relay = await relay.restart()
  cleanups.push(() => relay.stop())
  await waitFor(() => historyRows(relay).length === 2, 'both history entries after the outage', 20_000)
  assert.is(new Set(historyRows(relay).map((r) => r.id)).size, 2, 'each entry stored once')
})

test('without --auto the lab node pulls an order only when the operator asks', async () => {
  const { relay, printer } = await setup()
  const order = await placeOrder(relay, [{ product: 'L', qty: 1 }])
  const node = await lab(relay, printer, { auto: false })
  await node.waitForOutput(/queue: 1 order\(s\) waiting/)
  await new Promise((r) => setTimeout(r, 500))
  assert.is(spooled(printer).length, 0, 'nothing printed before the operator asks')
  assert.is(progressOf(order.doc), undefined, 'the order was not opened')
  node.command('next')
  await waitFor(() => progressOf(order.doc) === 'printed', 'printed after "next"', 30_000)
  assert.is(spooled(printer).length, 1)
})

test('a printer that is down when the order comes prints it once it is back', async () => {
  const { relay, printer } = await setup()
  const port = printer.port
  await printer.stop()
  const order = await placeOrder(relay, [{ product: 'L', qty: 1 }])
  const node = await lab(relay, printer.uri)
  await node.waitForOutput(/printer not ready/, 20_000)
  const back = await startIppPrinter({ command: '/bin/true', port })
  cleanups.push(() => back.stop())
  await waitFor(() => progressOf(order.doc) === 'printed', 'printed once the printer is back', 40_000)
  assert.is(spooled(back).length, 1)
})

test('the bytes a lab receives do not grow with orders assigned to other labs', async () => {
  // One customer places the 1,000 orders here, faster than a customer's write rate allows: lift it.
  const relay = await startRelay({ config: { ...CONFIG, limits: { writesPerSecond: 100_000, writeBytesPerSecond: 1 << 30, socketsPerCustomer: 100_000 } } })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const measure = async () => {
    let bytes = 0
    for (const room of ['catalog', 'lab/lab-1']) {
      const c = connect(relay, room, 'lab-1-secret')
      ;(c.provider as unknown as { on(e: string, f: () => void): void }).on('status', () => {})
      await waitFor(() => c.provider.ws, 'socket')
      ;(c.provider.ws as unknown as WebSocket).on('message', (data: ArrayBuffer | Buffer) => { bytes += data.byteLength })
      await synced(c.provider)
      await new Promise((r) => setTimeout(r, 100))
      c.provider.destroy()
    }
    return bytes
  }
  await placeOrder(relay, [{ product: 'L', qty: 1 }], 'store-1')
  const before = await measure()
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(99))
  // The same 1,000 accepted orders, placed 16 at a time rather than one after the other (the order
  // they arrive in does not matter here).
  let placed = 0
  const placeLab2Orders = async () => {
    while (placed < 1000) {
      placed++
      const orderId = newOrderId()
      const c = connect(relay, `order/${orderId}`, me.token)
      try {
        await synced(c.provider, 15_000)
        writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-2', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: photo, product: 'L', qty: 1 }] })
        await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'receipt', 15_000)
      } finally {
        c.provider.destroy()
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, placeLab2Orders))
  assert.is(placed, 1000)
  const after = await measure()
  assert.ok(after <= before + 64, `lab-1 received ${before} bytes before and ${after} after 1000 lab-2 orders`)
})

test.run()
