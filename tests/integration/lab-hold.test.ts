// Printer faults hold orders, they do not fail them (issue 15 point 5): a printer out of paper,
// stopped or gone holds the order (`held`, "waiting for printer"), however long that lasts, and the
// order resumes by itself once the printer is ready, each item printed exactly once.
// Real relay, real lab process and a real IPP printer (ippeveprinter, whose web form /media empties
// its trays: printer-state-reasons then says media-empty-report); the last test drives printOrder
// directly against a real ippeveprinter stopped and restarted on the same port.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { writeSpec, type Catalog, type OrderItem } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { IppPrinter } from '../../lab-node/printers/ipp.ts'
import { printOrder, type PrintContext } from '../../lab-node/print-order.ts'
import { startRelay, waitFor, removeDir, makePhoto, sha256Hex, newOrderId, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOrder as placeOrderAt, startLab } from '../helpers/lab.ts'
import { startIppPrinter, type IppPrinterProcess } from '../helpers/ippeveprinter.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** An order of `items` (photo seed 21), its client closed after the test. */
const placeOrder = (relay: RelayProcess, items: Array<Omit<OrderItem, 'image'>>) => placeOrderAt(relay, items, 21, (done) => cleanups.push(done))

const spooled = (printer: IppPrinterProcess) => readdirSync(printer.spoolDir).filter((f) => f.endsWith('.jpg')).sort()

/** Sets every tray of ippeveprinter's /media form to `level` sheets, keeping its sizes and types. */
async function setPaper(printer: IppPrinterProcess, level: number): Promise<void> {
  const base = `http://127.0.0.1:${printer.port}/media`
  const form = await (await fetch(base)).text()
  const query = new URLSearchParams()
  for (const [, name, options] of form.matchAll(/<select name="(\w+)">([\s\S]*?)<\/select>/g)) {
    const selected = /<option(?: value="([^"]*)")? selected>([^<]*)</.exec(options)
    query.set(name, name.startsWith('level') ? String(level) : (selected?.[1] ?? selected?.[2] ?? ''))
  }
  const res = await fetch(`${base}?${query}`)
  assert.is(res.status, 200, `ippeveprinter's media form answered ${res.status}`)
}

test('a printer that runs out of paper between orders holds the next one ("waiting for printer"); with paper back it prints each item once', async () => {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const printer = await startIppPrinter({ command: '/bin/true' })
  cleanups.push(() => printer.stop())
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: printer.uri, auto: true })
  cleanups.push(() => lab.kill())

  const first = await placeOrder(relay, [{ product: 'L', qty: 1 }])
  await waitFor(() => first.progress.get('status') === 'printed', 'the first order printed', 30_000)
  await setPaper(printer, 0)
  const second = await placeOrder(relay, [{ product: 'L', qty: 1 }, { product: 'L', qty: 2 }])
  await waitFor(() => second.progress.get('status') === 'held', `the second order held (progress ${JSON.stringify(second.progress.toJSON())})`, 20_000)
  assert.match(String(second.progress.get('reason')), /^waiting for printer: .*media-empty/)
  // It stays held while the paper is out: nothing sent, nothing failed.
  await new Promise((r) => setTimeout(r, 2_000))
  assert.is(second.progress.get('status'), 'held')
  assert.is(spooled(printer).length, 1, `only the first order printed: ${spooled(printer).join(', ')}`)
  assert.match(lab.output(), new RegExp(`order ${second.orderId}: held: printer not ready \\(media-empty`))

  await setPaper(printer, 250)
  await waitFor(() => second.progress.get('status') === 'printed', 'the second order printed once the paper is back', 30_000)
  assert.not.ok(second.progress.has('reason'), 'no reason left over from the hold')
  const names = spooled(printer).map((f) => f.replace(/^\d+-/, ''))
  assert.equal(names.sort(), [`${first.orderId}-0.jpg`, `${second.orderId}-0.jpg`, `${second.orderId}-1.jpg`].sort(), 'each item printed exactly once')
  assert.is(lab.output().split('\n').filter((l) => l.includes(`order ${second.orderId}: printer ready; resuming`)).length, 1, 'resumed once')
})

test('a printer gone for longer than every retry budget holds the order; restarted on the same port, it prints the order once', async () => {
  const dir = tempDir('labsync-hold-')
  cleanups.push(() => removeDir(dir))
  const journal = new Journal(join(dir, 'lab.sqlite'))
  cleanups.push(() => journal.close())
  const first = await startIppPrinter({ command: '/bin/true' })
  cleanups.push(() => first.stop())
  const port = first.port
  const printer = new IppPrinter(first.uri, { timeoutMs: 1_000 })
  cleanups.push(() => printer.close())
  await first.stop()

  const bytes = await makePhoto(4, 320, 240)
  const orderId = newOrderId()
  const doc = new Y.Doc()
  cleanups.push(() => doc.destroy())
  writeSpec(doc, { id: orderId, user: 'u1', front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: sha256Hex(bytes), product: 'L', qty: 1 }] })
  doc.transact(() => { const r = doc.getMap('receipt'); r.set('status', 'accepted'); r.set('lab', 'lab-1'); r.set('receivedAt', new Date().toISOString()) })
  const catalog = { ...ONE_LAB_CONFIG, labs: [{ id: 'lab-1', name: 'Central lab', price: {} }] } as unknown as Catalog
  const lines: string[] = []
  const ctx: PrintContext = {
    labId: 'lab-1', fleet: new PrinterFleet([printer]), journal, catalog, log: (line) => lines.push(line),
    link: { openOrder: async () => ({ doc, close() {}, acknowledged: async () => [] }), photo: async () => bytes },
    // Two tries 10 ms apart: the old code gave up on the printer after them.
    retry: { attempts: 2, baseMs: 10, maxMs: 20 }, holdPoll: { baseMs: 50, maxMs: 200 },
  }
  const printing = printOrder(ctx, orderId)
  const progress = doc.getMap('progress')
  await waitFor(() => progress.get('status') === 'held' || progress.get('status') === 'failed', 'the order held', 10_000)
  assert.is(progress.get('status'), 'held', JSON.stringify(progress.toJSON()))
  assert.match(String(progress.get('reason')), /^waiting for printer: .*unreachable/)
  await new Promise((r) => setTimeout(r, 1_000))
  assert.is(progress.get('status'), 'held', 'still held a second later, far past the retry budget')

  const back = await startIppPrinter({ command: '/bin/true', port })
  cleanups.push(() => back.stop())
  assert.equal(await printing, { status: 'printed' })
  assert.equal(spooled(back).map((f) => f.replace(/^\d+-/, '')), [`${orderId}-0.jpg`])
  assert.is(lines.filter((l) => l.includes('held: printer not ready')).length, 1, `the hold logged once, not once per try:\n${lines.join('\n')}`)
})

test.run()
