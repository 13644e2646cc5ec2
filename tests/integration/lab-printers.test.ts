// Several printers (issue 15 point 3): each item goes to a printer whose media-supported holds
// its product's media, an order may span printers, a printer taken down holds only its own items
// while the other keeps printing, and a printer that lists no media gets nothing until the
// operator states what it holds (`--printer URI#media=…`). Real relay, real lab process, real
// ippeveprinters offering different media (an attribute file: tests/helpers/ippeveprinter.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync } from 'node:fs'
import type { OrderItem } from '../../shared/schema.ts'
import { startRelay, waitFor, removeDir, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOrder as placeOrderAt, startLab } from '../helpers/lab.ts'
import { startIppPrinter, type IppPrinterProcess } from '../helpers/ippeveprinter.ts'

const L = 'oe_photo-l_3.5x5in'
const POSTCARD = 'na_index-4x6_4x6in'
const CONFIG = {
  ...ONE_LAB_CONFIG,
  products: [...ONE_LAB_CONFIG.products, { id: '4x6', name: 'Postcard 102x152 mm', widthMm: 102, heightMm: 152, media: POSTCARD, price: 60 }],
}

const cleanups: Array<() => Promise<void> | void> = []
const labs: Array<{ output(): string }> = []
test.after.each(async () => {
  if (process.env.LAB_PRINTERS_DEBUG) for (const lab of labs) console.log(lab.output())
  labs.length = 0
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** An order of `items` (photos from `seed`), its client closed after the test. */
const placeOrder = (relay: RelayProcess, items: Array<Omit<OrderItem, 'image'>>, seed: number) => placeOrderAt(relay, items, seed, (done) => cleanups.push(done))

/** The job names a printer spooled (`<order>-<item>`), sorted. */
const spooled = (printer: IppPrinterProcess) =>
  (existsSync(printer.spoolDir) ? readdirSync(printer.spoolDir) : []).filter((f) => f.endsWith('.jpg')).map((f) => f.replace(/^\d+-/, '').replace(/\.jpg$/, '')).sort()

async function startRelayAndPrinters(media: string[][]) {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const printers = await Promise.all(media.map((m) => startIppPrinter({ command: '/bin/true', media: m })))
  for (const printer of printers) cleanups.push(() => printer.stop())
  return { relay, printers }
}

async function relayHistory(relay: RelayProcess): Promise<Array<{ order: string; item: number; printer: string; status: string }>> {
  const res = await fetch(`${relay.url}/api/admin/history?lab=lab-1&format=json`, { headers: { authorization: 'Bearer admin-secret' } })
  assert.is(res.status, 200)
  return ((await res.json()) as { rows: Array<{ order: string; item: number; printer: string; status: string }> }).rows
}

test('the console lists both printers with their media; an order of a 4x6 and an L print prints each on the printer that holds its media; the history names that printer', async () => {
  const { relay, printers: [postcard, l] } = await startRelayAndPrinters([[POSTCARD], [L]])
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: [postcard.uri, l.uri], auto: true, console: '127.0.0.1:0', operatorToken: 'operator-secret-1' })
  cleanups.push(() => lab.kill())
  labs.push(lab)
  const [, consoleUrl] = await lab.waitForOutput(/operator console at (http:\/\/\S+?)\/? /)
  const listed = await fetch(`${consoleUrl}/api/printers`, { headers: { authorization: 'Bearer operator-secret-1' } })
  const { printers } = (await listed.json()) as { printers: Array<{ uri: string; state: string; media: string[] }> }
  assert.equal(printers.map((p) => [p.uri, p.state, p.media]), [[postcard.uri, 'idle', [POSTCARD]], [l.uri, 'idle', [L]]], 'the console lists every printer with its state and media')

  const order = await placeOrder(relay, [{ product: '4x6', qty: 1 }, { product: 'L', qty: 2 }], 31)
  await waitFor(() => order.progress.get('status') === 'printed', 'the order printed', 20_000)
  assert.equal(spooled(postcard), [`${order.orderId}-0`], 'the 4x6 item on the 4x6 printer, alone')
  assert.equal(spooled(l), [`${order.orderId}-1`], 'the L item on the L printer, alone')

  let rows = (await relayHistory(relay)).filter((row) => row.order === order.orderId)
  for (const deadline = Date.now() + 10_000; rows.length < 2 && Date.now() < deadline; rows = (await relayHistory(relay)).filter((row) => row.order === order.orderId)) {
    lab.command('flush')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const printerOf = Object.fromEntries(rows.map((row) => [row.item, row.printer]))
  assert.equal(printerOf, { 0: postcard.uri, 1: l.uri })
})

test('a printer taken down mid-queue holds only its items; the other printer keeps printing; back, it prints each item once', async () => {
  const { relay, printers: [postcard, l] } = await startRelayAndPrinters([[POSTCARD], [L]])
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: [postcard.uri, l.uri], auto: true })
  cleanups.push(() => lab.kill())
  labs.push(lab)
  const first = await placeOrder(relay, [{ product: '4x6', qty: 1 }, { product: 'L', qty: 1 }], 41)
  await waitFor(() => first.progress.get('status') === 'printed', 'the first order printed', 20_000)

  postcard.kill()
  await postcard.exited
  const spanning = await placeOrder(relay, [{ product: '4x6', qty: 1 }, { product: 'L', qty: 1 }], 42)
  const lOnly = await placeOrder(relay, [{ product: 'L', qty: 1 }], 43)
  await waitFor(() => lOnly.progress.get('status') === 'printed', 'the L-only order printed while the 4x6 printer is down', 20_000)
  await waitFor(() => spooled(l).includes(`${spanning.orderId}-1`), "the spanning order's L item printed", 10_000)
  assert.is(spanning.progress.get('status'), 'printing', 'the spanning order waits for its 4x6 item, it has not failed')
  assert.match(String(spanning.progress.get('reason')), /^waiting for printer: /)

  const back = await startIppPrinter({ command: '/bin/true', media: [POSTCARD], port: postcard.port })
  cleanups.push(() => back.stop())
  await waitFor(() => spanning.progress.get('status') === 'printed', 'the spanning order printed once the printer is back', 30_000)
  assert.equal(spooled(back), [`${spanning.orderId}-0`], 'the held 4x6 item, once')
  assert.equal(spooled(l), [`${first.orderId}-1`, `${spanning.orderId}-1`, `${lOnly.orderId}-0`].sort(), 'each L item once')
})

test('a printer that lists no media gets nothing ("no printer holds …"); with its media stated it prints the order once', async () => {
  const { relay, printers: [raw] } = await startRelayAndPrinters([[]])
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: raw.uri, auto: true })
  cleanups.push(() => lab.kill())
  labs.push(lab)
  const order = await placeOrder(relay, [{ product: 'L', qty: 1 }], 51)
  await lab.waitForOutput(new RegExp(`order ${order.orderId}: held: no printer holds ${L}`))
  await waitFor(() => order.progress.get('status') === 'held', 'the order held', 10_000)
  assert.is(order.progress.get('reason'), `waiting for printer: no printer holds ${L}`)
  assert.equal(spooled(raw), [], 'nothing sent to a printer that lists no media')
  await lab.stop()

  const stated = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `${raw.uri}#media=${L}`, dataDir: lab.dataDir, auto: true })
  cleanups.push(() => stated.kill())
  labs.push(stated)
  await waitFor(() => order.progress.get('status') === 'printed', 'the order printed once its media is stated', 20_000)
  assert.equal(spooled(raw), [`${order.orderId}-0`])
})

test.run()
