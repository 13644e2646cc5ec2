// Issue 18, first fault test: three relays on PostgreSQL and Redis behind the shipped haproxy
// config; customers sign up, upload a photo and compose and submit orders through the balancer on
// stock devices, and two real lab nodes (`bin/labsync lab`, file printers, --auto, pointed at the
// balancer) print them; the relay holding the most order sockets is SIGKILLed mid-load and started
// again. Every write a device saw acknowledged is in PostgreSQL, every live device converges with
// it, each order has exactly one reception, each item is printed exactly once (one JPEG per item
// in its lab's folder), and every order's progress at the relay is `printed`. Logged: how long
// orders took from submission to printed, and how long devices on the killed relay were cut off.
// test-runner: alone (3 relays, 2 lab nodes, PostgreSQL, Redis and haproxy take both cores)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import * as Y from 'yjs'
import { startCluster, storedDoc, type Cluster } from '../helpers/cluster.ts'
import { poll } from '../helpers/cluster-load.ts'
import { docView } from '../helpers/cluster-orders.ts'
import { busiestRelay, closeAll, liveDevice, startCustomers, untilPrinted, type CustomerLoad } from '../helpers/cluster-orders-load.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

const LABS = ['lab-1', 'lab-2']
const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  // Small photos (64x48) make quick prints: the test is about the cluster, not rendering.
  products: [{ id: 'S', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 10 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: LABS.map((id) => ({ id, name: id, key: `${id}-secret`, price: {} })),
  fronts: LABS.map((lab, i) => ({ id: `store-${i + 1}`, name: `Store ${i + 1}`, lab, fee: 0, roles: ['reception'] })),
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}
const SHAPE = { customers: 10, ordersPerCustomer: 3, fronts: ['store-1', 'store-2'], product: 'S', orderEveryMs: 900 }

// Every stock provider adds a process 'exit' listener (y-websocket); some 45 are open at once here.
process.setMaxListeners(100)

let cluster: Cluster | null = null
let load: CustomerLoad | null = null
const labs: LabProcess[] = []
const dir = tempDir('labsync-cluster-orders-')
test.after(async () => {
  if (load) closeAll(load)
  for (const lab of labs) await lab.kill()
  await cluster?.stop()
  removeDir(dir)
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]
const prints = (lab: string) => join(dir, lab, 'prints')

/** Rooms each relay holds (its /healthz says), by haproxy name; a relay killed has none. */
async function roomsOn(c: Cluster): Promise<Map<string, number>> {
  const rooms = new Map<string, number>()
  for (const [i, relay] of c.relays.entries()) {
    rooms.set(c.nameOf(i), relay ? ((await (await fetch(`${relay.url}/healthz`)).json()) as { rooms: number }).rooms : 0)
  }
  return rooms
}

/**
 * Lab nodes pointed at the balancer, trusting its certificate; one after the other, so that the
 * relay whose rooms grew when one started (its lab room and the catalog) is the one holding its
 * uplink (round-robin: it cannot be told beforehand). The names of the relays holding uplinks.
 */
async function startLabs(c: Cluster): Promise<Set<string>> {
  const caFile = join(dir, 'balancer-ca.pem')
  writeFileSync(caFile, c.proxy.ca)
  const uplinks = new Set<string>()
  for (const lab of LABS) {
    const before = await roomsOn(c)
    labs.push(await startLab({
      relayUrl: c.proxy.url, lab, key: `${lab}-secret`, printer: `file:${prints(lab)}`, auto: true,
      dataDir: join(dir, lab, 'data'), historyIntervalSeconds: 1, env: { NODE_EXTRA_CA_CERTS: caFile },
    }))
    const after = await poll(async () => [...await roomsOn(c)].find(([name, n]) => n > before.get(name)!), `the relay holding ${lab}'s uplink`, 10_000)
    uplinks.add(after[0])
  }
  return uplinks
}

test('customers and lab nodes through the balancer, a relay SIGKILLed mid-load: nothing acknowledged lost, one reception and one print each', async () => {
  const started = Date.now()
  const c = cluster = await startCluster({ config: CONFIG })
  const uplinks = await startLabs(c)
  const l = load = await startCustomers(c.proxy, SHAPE)
  const loadAt = Date.now()
  // Mid-load: about a third of the orders started, the rest to come.
  await sleep(SHAPE.orderEveryMs * 1.3)
  // A relay holding a lab node's uplink, and the most order sockets of those.
  const victim = busiestRelay(l, uplinks)
  const index = [0, 1, 2].find((i) => c.nameOf(i) === victim)!
  l.killed = { name: victim, at: Date.now() }
  await c.kill(index)
  await sleep(2_000)
  await c.restart(index)
  const restartedAt = Date.now()
  await l.done
  l.stopSaving()
  await untilPrinted(l, 60_000).catch(async (error: Error) => {
    // Each stuck order as its live device sees it (and the relay that device is on), as PostgreSQL
    // holds it, its reception, and whether its lab's queue in PostgreSQL holds it.
    const db = new pg.Client({ connectionString: c.store })
    await db.connect()
    const stuck = await Promise.all(l.orders.filter((o) => o.printedAt === null).map(async (o) => {
      const device = liveDevice(o).device
      const lab = LABS[SHAPE.fronts.indexOf(o.front)]
      const { rows } = await db.query('SELECT status, delivered, progress, lab FROM receptions WHERE order_id = $1', [o.orderId])
      const queued = (await storedDoc(c.store, `lab/${lab}`)).getMap('queue').has(o.orderId)
      return `${o.orderId} (front ${o.front}; device on ${device.sockets.at(-1)?.relay || '?'}): ${docView(device.doc)}\n  stored: ${docView(await storedDoc(c.store, `order/${o.orderId}`))}`
        + `\n  reception: ${JSON.stringify(rows)}; in lab/${lab}'s stored queue: ${queued}`
    })).finally(() => db.end())
    const what = `${victim} (holding an uplink of ${[...uplinks].join(', ')}) SIGKILLed at ${new Date(l.killed!.at).toISOString()}, started again at ${new Date(restartedAt).toISOString()}`
    const full = `${error.message}; ${what}\n${stuck.join('\n')}\n${labs.map((lab, i) => `--- ${LABS[i]}\n${lab.output()}`).join('\n')}\n${c.output(Infinity)}`
    // LABSYNC_TEST_DUMP=FILE keeps every process's whole output; the message keeps their ends.
    if (process.env.LABSYNC_TEST_DUMP) writeFileSync(process.env.LABSYNC_TEST_DUMP, full)
    throw new Error(`${error.message}; ${what}\n${stuck.join('\n')}\n${labs.map((lab) => lab.output().slice(-2000)).join('\n')}\n${c.output()}`)
  })
  const profiles = l.profiles.map((p) => ({ room: `user/${p.user}`, tracked: p.tracked }))
  const orders = l.orders.map((o) => ({ room: `order/${o.orderId}`, devices: o.devices }))
  const cut = [...l.orders.flatMap((o) => o.devices), ...profiles.map((p) => p.tracked)].filter((d) => d.cutAt !== null)
  const cutOrders = cut.filter((d) => !profiles.some((p) => p.tracked === d))
  const backMs = cutOrders.map((d) => (d.backAt ?? Infinity) - l.killed!.at)
  const e2e = l.orders.map((o) => o.printedAt! - o.submittedAt)
  const accepted = l.orders.map((o) => (o.acceptedAt ?? Infinity) - o.submittedAt)
  const saves = profiles.reduce((n, p) => n + p.tracked.acked, 0)
  console.log(`cluster orders: ${l.orders.length} orders of ${SHAPE.customers} customers (${saves} profile saves acknowledged), ${LABS.length} lab nodes (uplinks on ${[...uplinks].join(', ')}); `
    + `killed ${victim} ${l.killed.at - loadAt} ms into the load; ${cut.length} devices cut (${cut.length - cutOrders.length} profile, ${cutOrders.filter((d) => d.gone).length} order devices with writes replaced by fresh ones); `
    + `order devices back after (ms) median ${median(backMs)}, max ${Math.max(...backMs)} (${backMs.sort((a, b) => a - b).join(', ')}); `
    + `submitted to accepted (ms): median ${median(accepted)}, max ${Math.max(...accepted)}; submitted to printed (ms): median ${median(e2e)}, max ${Math.max(...e2e)}; all in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  assert.ok(cut.length > 0, 'the kill cut some devices')

  // Every acknowledged write in PostgreSQL; every live device holds what PostgreSQL holds.
  const lost: string[] = []
  for (const { room, devices } of [...orders, ...profiles.map((p) => ({ room: p.room, devices: [p.tracked] }))]) {
    const stored = Y.decodeStateVector(Y.encodeStateVector(await storedDoc(c.store, room)))
    for (const d of devices) if (d.acked > (stored.get(d.device.doc.clientID) ?? 0)) lost.push(`${room}: ${d.acked - (stored.get(d.device.doc.clientID) ?? 0)} of ${d.acked}${d.cutAt !== null ? ' (cut)' : ''}`)
  }
  assert.equal(lost, [], 'acknowledged writes lost')
  const live = [...l.orders.map((o) => ({ room: `order/${o.orderId}`, doc: liveDevice(o).device.doc })), ...profiles.filter((p) => !p.tracked.gone).map((p) => ({ room: p.room, doc: p.tracked.device.doc }))]
  await poll(async () => {
    for (const { room, doc } of live) if (docView(doc) !== docView(await storedDoc(c.store, room))) return false
    return true
  }, 'every live device to hold what PostgreSQL holds', 20_000, 200)

  // Exactly one reception per order, accepted, and the relay's progress `printed`.
  const db = new pg.Client({ connectionString: c.store })
  await db.connect()
  try {
    const { rows } = await db.query<{ order_id: string; n: number; status: string; progress: string }>(
      'SELECT order_id, count(*)::int AS n, min(status) AS status, min(progress) AS progress FROM receptions WHERE order_id = ANY($1) GROUP BY order_id', [l.orders.map((o) => o.orderId)])
    assert.is(rows.length, l.orders.length, 'every order received')
    assert.equal(rows.filter((r) => r.n !== 1 || r.status !== 'accepted' || r.progress !== 'printed'), [], 'one accepted reception per order, printed')
  } finally {
    await db.end()
  }
  for (const order of l.orders) assert.is(liveDevice(order).device.doc.getMap('progress').get('status'), 'printed')

  // One JPEG per item, in the folder of the order's lab, nothing else.
  const perName = new Map<string, number>()
  for (const lab of LABS) {
    for (const file of readdirSync(prints(lab)).filter((f) => /^\d+-.*\.jpg$/.test(f))) {
      const name = `${lab}/${file.replace(/^\d+-/, '').replace(/\.jpg$/, '')}`
      perName.set(name, (perName.get(name) ?? 0) + 1)
    }
  }
  const expected = l.orders.flatMap((o) => o.items.map((_, i) => `${LABS[SHAPE.fronts.indexOf(o.front)]}/${o.orderId}-${i}`))
  assert.equal([...perName.keys()].filter((name) => !expected.includes(name)), [], 'no print that is not an item of that lab')
  assert.equal(expected.filter((name) => perName.get(name) !== 1).map((name) => `${name}: ${perName.get(name) ?? 0}`), [], 'every item printed exactly once')
})

test.run()
