// The order document, not the local journal, says whether an order ended (issue 15 point 5): a
// lab node started with an empty --data never prints again an order that an earlier node printed
// or failed; only the operator's `retry` does. Real relay, real lab processes: the first prints on
// a real IPP printer that aborts every job (ippeveprinter -c /bin/false) or that prints, the
// fresh one on a folder that would print anything.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync } from 'node:fs'
import { startRelay, waitFor, removeDir, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOneItemOrder, startLab, type LabProcess } from '../helpers/lab.ts'
import { startIppPrinter } from '../helpers/ippeveprinter.ts'

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function world() {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const prints = tempDir('labsync-fresh-prints-')
  cleanups.push(() => removeDir(prints))
  const files = () => (existsSync(prints) ? readdirSync(prints).filter((f) => f.endsWith('.jpg')) : [])
  return { relay, prints, files }
}

async function lab(relay: RelayProcess, printer: string, auto: boolean): Promise<LabProcess> {
  const node = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer, auto, dataDir: tempDir('labsync-lab-') })
  cleanups.push(() => node.kill())
  return node
}

const placeOrder = (relay: RelayProcess) => placeOneItemOrder(relay, 31, (done) => cleanups.push(done))

test('a lab node with an empty --data does not print an order an earlier node failed; the operator\'s retry does', async () => {
  const { relay, prints, files } = await world()
  const aborting = await startIppPrinter({ command: '/bin/false' })
  cleanups.push(() => aborting.stop())
  const order = await placeOrder(relay)
  const first = await lab(relay, aborting.uri, true)
  await waitFor(() => order.progress.get('status') === 'failed', 'failed at the first node', 30_000)
  const reason = order.progress.get('reason')
  await first.stop()

  // The failed order is still in the lab's queue at the relay: a fresh node in auto mode sees it.
  const fresh = await lab(relay, `file:${prints}`, true)
  await waitFor(() => files().length > 0 || fresh.output().includes(`order ${order.orderId}: already failed in the order document`), 'the fresh node to take the order', 20_000)
  await new Promise((r) => setTimeout(r, 1_000))
  assert.equal(files(), [], 'nothing printed')
  assert.is(order.progress.get('status'), 'failed')
  assert.is(order.progress.get('reason'), reason, 'the first node\'s reason stands')

  fresh.command(`retry ${order.orderId}`)
  await waitFor(() => order.progress.get('status') === 'printed', `printed after retry:\n${fresh.output()}`, 20_000)
  assert.is(files().length, 1)
})

test('a lab node with an empty --data does not print again an order an earlier node printed, even when asked to print it', async () => {
  const { relay, prints, files } = await world()
  const order = await placeOrder(relay)
  const earlier = tempDir('labsync-fresh-earlier-')
  cleanups.push(() => removeDir(earlier))
  const first = await lab(relay, `file:${earlier}`, true)
  await waitFor(() => order.progress.get('status') === 'printed', 'printed at the first node', 20_000)
  await first.stop()

  const fresh = await lab(relay, `file:${prints}`, false)
  fresh.command(`print ${order.orderId}`)
  await waitFor(() => files().length > 0 || fresh.output().includes(`order ${order.orderId}: already printed in the order document`), 'the fresh node to take the order', 20_000)
  await new Promise((r) => setTimeout(r, 500))
  assert.equal(files(), [], 'not printed again')
  assert.is(order.progress.get('status'), 'printed')
})

test.run()
