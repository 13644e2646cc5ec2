// A lab node that is stopped hands its last printing history to the relay first: it waits for
// the relay's acknowledgement (the entries' removal from lab/<id> history), a bounded time, and
// not at all when the relay is out of reach. Real relay, real lab process, a folder printer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { writeSpec } from '../../shared/schema.ts'
import { connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, startLab, type LabProcess } from '../helpers/lab.ts'

const CONFIG = ONE_LAB_CONFIG

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function historyRows(relay: RelayProcess): number {
  const db = new Database(join(relay.dataDir, 'relay.sqlite'), { readonly: true })
  try { return (db.prepare('SELECT count(*) AS n FROM history').get() as { n: number }).n } finally { db.close() }
}

/** A relay, and a lab that has printed one order whose history it has not sent yet (the interval is an hour). */
async function printedOneOrder(): Promise<{ relay: RelayProcess; lab: LabProcess }> {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(5, 320, 240))
  const orderId = newOrderId()
  const customer = connect(relay, `order/${orderId}`, me.token)
  cleanups.push(() => customer.provider.destroy())
  await synced(customer.provider)
  writeSpec(customer.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: photo, product: 'L', qty: 2 }] })
  await waitFor(() => customer.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 20_000)

  const root = tempDir('labsync-shutdown-')
  cleanups.push(() => removeDir(root))
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${join(root, 'prints')}`, auto: true, dataDir: join(root, 'lab'), historyIntervalSeconds: 3600 })
  cleanups.push(() => lab.kill())
  await lab.waitForOutput(new RegExp(`order ${orderId}: printed`), 30_000)
  return { relay, lab }
}

/** History entries in the lab's journal that the relay has not acknowledged (not yet removed from lab/<id> history). */
function unacknowledged(lab: LabProcess): number {
  const db = new Database(join(lab.dataDir, 'lab.sqlite'), { readonly: true })
  try { return (db.prepare('SELECT count(*) AS n FROM history WHERE acknowledged = 0').get() as { n: number }).n } finally { db.close() }
}

async function stopTimed(lab: LabProcess): Promise<number> {
  const started = Date.now()
  await lab.stop()
  return Date.now() - started
}

test('a lab stopped after printing exits once the relay has acknowledged its last history', async () => {
  const { relay, lab } = await printedOneOrder()
  assert.is(historyRows(relay), 0, 'nothing sent before the stop (the interval is an hour)')
  const ms = await stopTimed(lab)
  assert.match(lab.output(), /history: sent 1 entry to the relay/)
  assert.is(historyRows(relay), 1, `the entry stored at the relay\n${lab.output()}`)
  assert.is(unacknowledged(lab), 0, `the relay's acknowledgement journaled before the lab exited (it took ${ms} ms to stop)`)
  console.log(`  stop with the relay up: ${ms} ms`)
})

test('a lab stopped while the relay is out of reach exits without waiting for it', async () => {
  const { relay, lab } = await printedOneOrder()
  // The lab sees the socket close at once; if the stop came first, the drop ends its wait as soon as it is seen.
  await relay.kill()
  const ms = await stopTimed(lab)
  assert.is(unacknowledged(lab), 1, 'the entry stays in the journal, to be sent at the next start')
  assert.ok(ms < 1_500, `stopped in ${ms} ms\n${lab.output()}`)
  console.log(`  stop with the relay down: ${ms} ms`)
})

test('a relay that takes the history but does not answer holds a stop up for 2 s at most', async () => {
  const { relay, lab } = await printedOneOrder()
  relay.process.kill('SIGSTOP') // the socket stays open: the push is delivered, no acknowledgement comes
  cleanups.push(() => { relay.process.kill('SIGCONT') })
  const ms = await stopTimed(lab)
  assert.match(lab.output(), /history: sent 1 entry to the relay/)
  assert.is(unacknowledged(lab), 1, 'not acknowledged, so sent again at the next start')
  assert.ok(ms >= 1_900 && ms < 5_000, `stopped in ${ms} ms`)
  console.log(`  stop with the relay frozen: ${ms} ms`)
})

test('a relay that goes away while the lab waits for its acknowledgement ends the wait', async () => {
  const { relay, lab } = await printedOneOrder()
  relay.process.kill('SIGSTOP')
  cleanups.push(() => { relay.process.kill('SIGCONT') })
  const exited = new Promise<void>((resolve) => lab.process.once('exit', () => resolve()))
  lab.process.kill('SIGTERM') // once: a second SIGTERM would kill it outright
  await lab.waitForOutput(/history: sent 1 entry to the relay/)
  const started = Date.now()
  await relay.kill()
  await exited
  const ms = Date.now() - started
  assert.is(unacknowledged(lab), 1)
  // Waiting out the 2 s bound after the relay is gone would show here (an exit takes ~250 ms on a loaded machine).
  assert.ok(ms < 1_500, `exited ${ms} ms after the relay went away\n${lab.output()}`)
  console.log(`  exit after the relay went away: ${ms} ms`)
})

test.run()
