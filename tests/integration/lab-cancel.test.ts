// A cancel is honoured up to the moment a job is sent to a printer (issue 13, point 5): a
// customer's cancel accepted by the relay while the lab waits for its printer is not printed.
// Real relay, real lab process, a real folder printer that is not ready at first (its folder
// path is a regular file, so the lab cannot write there: "printer unreachable", retried).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeSpec } from '../../shared/schema.ts'
import { connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, uploadPhoto, newOrderId, tempDir } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, startLab } from '../helpers/lab.ts'

const CONFIG = ONE_LAB_CONFIG

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

test('a cancel accepted while the lab waits for its printer is not printed; progress says so', async () => {
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(11, 320, 240))
  const orderId = newOrderId()
  const customer = connect(relay, `order/${orderId}`, me.token)
  cleanups.push(() => customer.provider.destroy())
  await synced(customer.provider)
  writeSpec(customer.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: photo, product: 'L', qty: 1 }, { image: photo, product: 'L', qty: 2 }] })
  await waitFor(() => customer.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)

  const root = tempDir('labsync-cancel-')
  cleanups.push(() => removeDir(root))
  const prints = join(root, 'prints')
  writeFileSync(prints, 'not a folder yet') // the printer is not ready
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, auto: true, dataDir: join(root, 'lab') })
  cleanups.push(() => lab.kill())
  await lab.waitForOutput(/printer not ready/, 20_000)

  customer.doc.getMap('spec').set('state', 'cancelled')
  // The relay took the cancel when a fresh copy of the order shows it.
  const check = connect(relay, `order/${orderId}`, me.token, new Y.Doc())
  cleanups.push(() => check.provider.destroy())
  await waitFor(() => check.doc.getMap('spec').get('state') === 'cancelled', 'the cancel at the relay', 10_000)

  rmSync(prints)
  mkdirSync(prints) // the printer is ready now
  const progress = customer.doc.getMap('progress')
  await waitFor(() => progress.get('status') === 'failed' || progress.get('status') === 'printed', 'the lab to end the order', 30_000)
  assert.is(progress.get('status'), 'failed', `progress ${JSON.stringify(progress.toJSON())}\n${lab.output()}`)
  assert.is(progress.get('reason'), 'cancelled by the customer')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(readdirSync(prints), [], 'nothing sent to the printer')
  assert.match(lab.output(), new RegExp(`order ${orderId}: failed: cancelled by the customer`))
})

test.run()
