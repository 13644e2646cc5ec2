// Issue 18: a relay killed in the one window no client can cover, after PostgreSQL committed a
// write and before the relay published it or ran its hooks (LABSYNC_TEST_DIE_AFTER_STORING puts
// the SIGKILL there, on cue). The writer got no echo, but its write is stored; had it been a
// device that then went away, or a lab that closed the order, nobody would send it again. Found
// by cluster-orders-faults.test.ts, where a relay killed mid-load had stored a queue entry and a
// lab's `printed` that the other relays never heard of.
//
// Two relay processes on one PostgreSQL and Redis. A customer composes an order on relay B and
// submits it from a second device on relay A, which dies as the submission is stored. B takes A's
// silence for its death, re-reads its rooms and does what A left undone: B's device sees the
// submission and the relay's receipt, and the order is received once. Then the same for a lab:
// its `printed` stored by a relay that dies at once still reaches the customer's device on the
// other relay, the reception's progress in PostgreSQL, and the order leaves its lab's queue.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import * as Y from 'yjs'
import { writeSpec } from '../../shared/schema.ts'
import { startCluster, storedDoc, type Cluster } from '../helpers/cluster.ts'
import { poll } from '../helpers/cluster-load.ts'
import { receiptWith } from '../helpers/orders.ts'
import { connect, makePhoto, newOrderId, signUp, synced, uploadPhoto, waitFor } from '../helpers/relay.ts'

const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'S', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 10 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Store', lab: 'lab-1', fee: 0, roles: ['reception'] }],
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}
const SUBMITTED = newOrderId()
const PRINTED = newOrderId()
// How long the other relay may take: 5 s of silence before a relay is taken for dead, then the re-read.
const AFTER_DEATH_MS = 15_000

const providers: Array<{ destroy(): void }> = []
let cluster: Cluster | null = null
test.after(async () => {
  for (const provider of providers) provider.destroy()
  await cluster?.stop()
})

/** A stock device on `room` at `relay`, synced. */
async function device(relay: { wsUrl: string }, room: string, token: string): Promise<Y.Doc> {
  const { doc, provider } = connect(relay, room, token)
  providers.push(provider)
  await synced(provider, 15_000)
  return doc
}

async function reception(store: string, order: string): Promise<Array<{ status: string; progress: string | null }>> {
  const db = new pg.Client({ connectionString: store })
  await db.connect()
  try {
    return (await db.query('SELECT status, progress FROM receptions WHERE order_id = $1', [order])).rows
  } finally {
    await db.end()
  }
}

test('a relay SIGKILLed between storing a write and publishing it: the other relay hears of it, and does the work it left', async () => {
  // relays[0] (A) dies as the submission is stored; relays[2] (A2) as the lab's `printed` is.
  const c = cluster = await startCluster({
    relays: 3, config: CONFIG,
    relayEnv: [{ LABSYNC_TEST_DIE_AFTER_STORING: `order/${SUBMITTED}` }, undefined, { LABSYNC_TEST_DIE_AFTER_STORING: `order/${PRINTED}` }],
  })
  const [a, b, a2] = c.relays.map((relay) => relay!)
  const who = await signUp(b.url)
  const photo = await uploadPhoto(b.url, who.token, await makePhoto(7))
  const spec = (id: string) => ({ id, user: who.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'draft' as const, items: [{ image: photo, product: 'S', qty: 1 }] })

  // The order is composed on B; a second device of the customer's, on A, submits it.
  const onB = await device(b, `order/${SUBMITTED}`, who.token)
  writeSpec(onB, spec(SUBMITTED))
  const onA = await device(a, `order/${SUBMITTED}`, who.token)
  await waitFor(() => onA.getMap('spec').get('id') === SUBMITTED, 'the draft on A')
  onA.getMap('spec').set('state', 'submitted')
  await waitFor(() => a.process.exitCode !== null || a.process.signalCode !== null, 'A to die as the submission is stored')
  assert.is(a.process.signalCode, 'SIGKILL')
  await c.kill(0)

  const receipt = await receiptWith(onB, 'accepted', AFTER_DEATH_MS).catch((error: Error) => { throw new Error(`${error.message}\n${c.output()}`) })
  assert.is(onB.getMap('spec').get('state'), 'submitted', "B's device has the submission A stored")
  assert.is(receipt.lab, 'lab-1')
  assert.equal(await reception(c.store, SUBMITTED), [{ status: 'accepted', progress: null }], 'received once')

  // A second order, accepted; the lab writes `printed` through A2, which dies as it is stored.
  const onB2 = await device(b, `order/${PRINTED}`, who.token)
  writeSpec(onB2, { ...spec(PRINTED), state: 'submitted' })
  await receiptWith(onB2, 'accepted', AFTER_DEATH_MS)
  const lab = await device(a2, `order/${PRINTED}`, 'lab-1-secret')
  lab.transact(() => {
    const progress = lab.getMap('progress')
    progress.set('status', 'printed')
    progress.set('updatedAt', new Date().toISOString())
  })
  await waitFor(() => a2.process.signalCode !== null, 'A2 to die as the progress is stored')
  await c.kill(2)
  await waitFor(() => onB2.getMap('progress').get('status') === 'printed', "the lab's progress on B's device", AFTER_DEATH_MS)
  await poll(async () => (await reception(c.store, PRINTED))[0]?.progress === 'printed', 'printed noted with the reception', AFTER_DEATH_MS, 100)
  // And a printed order leaves its lab's queue (before its reception says printed).
  assert.not.ok((await storedDoc(c.store, 'lab/lab-1')).getMap('queue').has(PRINTED), "the printed order left lab-1's queue")
  assert.ok((await storedDoc(c.store, 'lab/lab-1')).getMap('queue').has(SUBMITTED), 'the other order, not printed, is still in it')
})

test.run()
