// The operator's `ready` and `collected` (issue 15 point 6, lab side): a printed order's progress
// becomes `ready` (with its pickup store) and then `collected`, as a stock y-websocket client sees
// the order; each is one row in the printing history at the relay. An order not printed is
// refused with a log line and left as it is. Real relay, real lab process, a folder printer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { startRelay, waitFor, removeDir, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, placeOneItemOrder, startLab } from '../helpers/lab.ts'

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const placeOrder = (relay: RelayProcess) => placeOneItemOrder(relay, 41, (done) => cleanups.push(done))

function historyStatuses(relay: RelayProcess, orderId: string): string[] {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try {
    return (db.prepare('SELECT status FROM history WHERE order_id = ? ORDER BY printed_at, item').all(orderId) as Array<{ status: string }>).map((r) => r.status)
  } finally { db.close() }
}

test('ready and collected reach the order document and the history; an order not printed is refused and left as it is', async () => {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const prints = tempDir('labsync-pickup-prints-')
  cleanups.push(() => removeDir(prints))
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, auto: false })
  cleanups.push(() => lab.kill())
  const printed = await placeOrder(relay)
  const waiting = await placeOrder(relay)

  lab.command(`ready ${waiting.orderId}`)
  await lab.waitForOutput(new RegExp(`order ${waiting.orderId}: not marked ready: it is not printed`), 10_000)
  lab.command(`collected ${waiting.orderId}`)
  await lab.waitForOutput(new RegExp(`order ${waiting.orderId}: not marked collected: it is not printed`), 10_000)
  assert.is(waiting.progress.get('status'), undefined, 'nothing written into the order')

  lab.command(`print ${printed.orderId}`)
  await waitFor(() => printed.progress.get('status') === 'printed', 'printed', 20_000)
  lab.command(`ready ${printed.orderId}`)
  await waitFor(() => printed.progress.get('status') === 'ready', 'ready in the order', 10_000)
  assert.equal(printed.progress.get('store'), { id: 'store-1', name: 'Station store' })
  // The lab says so once the relay has stored it, which may be after this client sees the change.
  await lab.waitForOutput(new RegExp(`order ${printed.orderId}: ready at Station store`), 10_000)
  lab.command(`collected ${printed.orderId}`)
  await waitFor(() => printed.progress.get('status') === 'collected', 'collected in the order', 10_000)
  await waitFor(() => historyStatuses(relay, printed.orderId).length === 3, 'three history rows at the relay', 10_000)
  assert.equal(historyStatuses(relay, printed.orderId), ['completed', 'ready', 'collected'])

  // Collected is the end: it does not go back to ready.
  lab.command(`ready ${printed.orderId}`)
  await lab.waitForOutput(new RegExp(`order ${printed.orderId}: not marked ready: it is collected`), 10_000)
  assert.is(printed.progress.get('status'), 'collected')
})

test.run()
