// Lab crash recovery (issue 13, point 6): real lab processes (`bin/labsync lab`) printing to
// file: printers, SIGKILLed at random moments at least 100 times while they print a batch of
// orders, restarted each time. At the end every item is printed exactly once (one JPEG per job
// name) and every order's progress at the relay is `printed`. A job a crash cut off between the
// file printer's sidecar and its JPEG reads `aborted`; it printed nothing and must be sent again.
//
// Four labs run side by side (each its own orders, journal and folder) so that 100 restarts fit
// in the time; prints are tiny (a 25x38 mm sticker, on paper each lab's folder states it holds) so a
// kill lands among jobs, not renders, and 320 renders do not take the machine.
// test-runner: alone (four labs restarting over and over take both cores for about a minute)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeSpec, type Catalog } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { printOrder, type PrintContext } from '../../lab-node/print-order.ts'
import { connect, startRelay, signUp, synced, waitFor, removeDir, makePhoto, sha256Hex, uploadPhoto, newOrderId, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'

const LABS = 4
/** 104 SIGKILLs in all; LABSYNC_LAB_CRASH_KILLS changes it (each restart costs about 1 s of CPU). */
const KILLS_PER_LAB = Math.ceil(Number(process.env.LABSYNC_LAB_CRASH_KILLS ?? 104) / LABS)
const ORDERS_PER_LAB = 8
const ITEMS_PER_ORDER = 10
/** Paper no stock folder printer lists: each lab's folder states it (`#media=`). */
const STICKER = 'om_sticker_25x38mm'
const labIds = Array.from({ length: LABS }, (_, i) => `lab-${i + 1}`)

const CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'S', name: 'Sticker 25x38 mm', widthMm: 25, heightMm: 38, media: STICKER, price: 10 }],
  templates: [{ id: 'plain', name: 'No frame' }, { id: 'white-border', name: 'White border' }],
  labs: labIds.map((id) => ({ id, name: id, key: `${id}-secret`, price: {} })),
  fronts: labIds.map((id, i) => ({ id: `store-${i + 1}`, name: `Store ${i + 1}`, lab: id, fee: 0, roles: ['reception'] })),
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface LabUnderTest { id: string; dataDir: string; prints: string; orders: Array<{ orderId: string; doc: Y.Doc }> }

interface Figures { kills: number; midJob: number; cutBetweenSidecarAndJpeg: number; resent: number; reconciled: number; startMs: number[] }

async function placeOrders(relay: RelayProcess, lab: LabUnderTest, front: string, me: { userId: string; token: string }, photos: string[]): Promise<void> {
  for (let o = 0; o < ORDERS_PER_LAB; o++) {
    const orderId = newOrderId()
    const c = connect(relay, `order/${orderId}`, me.token)
    cleanups.push(() => c.provider.destroy())
    await synced(c.provider, 10_000)
    const items = Array.from({ length: ITEMS_PER_ORDER }, (_, i) => ({ image: photos[(o + i) % photos.length], product: 'S', qty: 1 + (i % 2), template: i % 3 ? 'plain' : 'white-border' }))
    writeSpec(c.doc, { id: orderId, user: me.userId, front, createdAt: new Date().toISOString(), state: 'submitted', items })
    lab.orders.push({ orderId, doc: c.doc })
  }
}

/** Items the journal holds between intent and their end: the kill came in the middle of a job. */
function itemsInFlight(lab: LabUnderTest): number {
  const file = join(lab.dataDir, 'lab.sqlite')
  if (!existsSync(file)) return 0
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return (db.prepare("SELECT count(*) AS n FROM items WHERE state IN ('intent', 'sent')").get() as { n: number }).n
  } finally {
    db.close()
  }
}

/** Job ids whose sidecar is in the folder without its JPEG: a crash between the two. */
function sidecarsWithoutJpeg(lab: LabUnderTest): string[] {
  if (!existsSync(lab.prints)) return []
  const names = new Set(readdirSync(lab.prints))
  return [...names].filter((n) => /^\d+-.*\.json$/.test(n) && !names.has(n.replace(/\.json$/, '.jpg'))).map((n) => n.split('-')[0])
}

async function start(relay: RelayProcess, lab: LabUnderTest): Promise<LabProcess> {
  const node = await startLab({ relayUrl: relay.url, lab: lab.id, key: `${lab.id}-secret`, printer: `file:${lab.prints}#media=${STICKER}`, auto: true, dataDir: lab.dataDir, historyIntervalSeconds: 60 })
  cleanups.push(() => node.kill())
  return node
}

/** Starts the lab, lets it work for a random moment once it prints, SIGKILLs it; again and again. */
async function killRepeatedly(relay: RelayProcess, lab: LabUnderTest, figures: Figures): Promise<void> {
  const cut = new Set<string>()
  for (let k = 0; k < KILLS_PER_LAB; k++) {
    const spawned = Date.now()
    const node = await start(relay, lab)
    figures.startMs.push(Date.now() - spawned)
    // Once it is printing (or after a while, when there is nothing left to print), a random moment.
    const done = () => lab.orders.every((o) => o.doc.getMap('progress').get('status') === 'printed')
    await Promise.race([node.waitForOutput(/: printing \d+ item|: item \d+\/\d+ job/, 30_000).catch(() => null), waitFor(done, 'the batch', 30_000).catch(() => null)])
    await sleep(Math.random() * 250)
    await node.kill()
    figures.kills++
    if (itemsInFlight(lab) > 0) figures.midJob++
    for (const job of sidecarsWithoutJpeg(lab)) if (!cut.has(job)) { cut.add(job); figures.cutBetweenSidecarAndJpeg++ }
    figures.resent += node.output().split('\n').filter((l) => l.includes('did not print; sending it again')).length
    figures.reconciled += node.output().split('\n').filter((l) => l.includes('was already sent as job')).length
  }
}

test(`${LABS * KILLS_PER_LAB} SIGKILLs of lab nodes printing: every item printed exactly once, every order printed`, async () => {
  const started = Date.now()
  const relay = await startRelay({ config: CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const me = await signUp(relay.url)
  const photos: string[] = []
  for (let i = 0; i < 3; i++) photos.push(await uploadPhoto(relay.url, me.token, await makePhoto(20 + i, 64, 48)))
  const root = tempDir('labsync-lab-crash-')
  cleanups.push(() => removeDir(root))
  const labs: LabUnderTest[] = labIds.map((id) => ({ id, dataDir: join(root, id, 'data'), prints: join(root, id, 'prints'), orders: [] }))
  for (const [i, lab] of labs.entries()) await placeOrders(relay, lab, `store-${i + 1}`, me, photos)
  const all = labs.flatMap((lab) => lab.orders)
  await waitFor(() => all.every((o) => o.doc.getMap('receipt').get('status') === 'accepted'), 'every receipt', 20_000)

  const figures: Figures = { kills: 0, midJob: 0, cutBetweenSidecarAndJpeg: 0, resent: 0, reconciled: 0, startMs: [] }
  await Promise.all(labs.map((lab) => killRepeatedly(relay, lab, figures)))
  const killed = Date.now()

  // Restarted for good: each finishes its batch.
  const finals = await Promise.all(labs.map((lab) => start(relay, lab)))
  await waitFor(() => all.every((o) => o.doc.getMap('progress').get('status') === 'printed'), 'every order printed', 60_000)
    .catch((error: Error) => {
      const stuck = all.filter((o) => o.doc.getMap('progress').get('status') !== 'printed').map((o) => `${o.orderId}: ${JSON.stringify(o.doc.getMap('progress').toJSON())}`)
      throw new Error(`${error.message}\n${stuck.join('\n')}\n${finals.map((f) => f.output()).join('\n')}`)
    })
  for (const node of finals) figures.resent += node.output().split('\n').filter((l) => l.includes('did not print; sending it again')).length

  let prints = 0
  let duplicates = 0
  let lost = 0
  for (const lab of labs) {
    const perName = new Map<string, number>()
    for (const file of readdirSync(lab.prints).filter((f) => /^\d+-.*\.jpg$/.test(f))) {
      const name = file.replace(/^\d+-/, '').replace(/\.jpg$/, '')
      perName.set(name, (perName.get(name) ?? 0) + 1)
      prints++
    }
    const expected = lab.orders.flatMap((o) => Array.from({ length: ITEMS_PER_ORDER }, (_, i) => `${o.orderId}-${i}`))
    for (const name of expected) {
      const count = perName.get(name) ?? 0
      if (count === 0) lost++
      if (count > 1) duplicates += count - 1
    }
    assert.equal([...perName.keys()].filter((n) => !expected.includes(n)), [], 'no print that is not an item')
  }
  console.log(`lab crash: ${figures.kills} SIGKILLs (${figures.midJob} with a job in flight, ${figures.cutBetweenSidecarAndJpeg} between a sidecar and its JPEG); `
    + `${figures.resent} interrupted job(s) sent again, ${figures.reconciled} found already sent; ${prints} prints for ${all.length * ITEMS_PER_ORDER} items: `
    + `${duplicates} duplicate(s), ${lost} lost; kills took ${((killed - started) / 1000).toFixed(1)} s, all in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const starts = figures.startMs.sort((a, b) => a - b)
  console.log(`lab crash: a restart took ${starts[Math.floor(starts.length / 2)]} ms (median) to ${starts[starts.length - 1]} ms from spawn to ready`)
  assert.ok(figures.kills >= Number(process.env.LABSYNC_LAB_CRASH_KILLS ?? 100), `${figures.kills} kills`)
  assert.is(duplicates, 0, 'no item printed twice')
  assert.is(lost, 0, 'no item lost')
  assert.is(prints, all.length * ITEMS_PER_ORDER)
})

// The crash window between the sidecar and its JPEG is narrow, so random kills may miss it: here it
// is set up exactly as a crash leaves it, and printOrder runs through a FAKE relay link (it hands
// over a Y.Doc built here and serves the photo from memory); journal and folder printer are real.
test('a job cut between its sidecar and its JPEG is sent again, a completed one is not; retry sends what ended unprinted', async () => {
  const dir = tempDir('labsync-lab-torn-')
  cleanups.push(() => removeDir(dir))
  const journal = new Journal(join(dir, 'lab.sqlite'))
  cleanups.push(() => journal.close())
  const prints = join(dir, 'prints')
  const printer = new FilePrinter(prints, { media: [STICKER] })
  cleanups.push(() => printer.close())
  const photo = await makePhoto(9, 64, 48)
  const docs = new Map<string, Y.Doc>()
  const lines: string[] = []
  const ctx: PrintContext = {
    labId: 'lab-1', fleet: new PrinterFleet([printer]), journal, catalog: CONFIG as unknown as Catalog, log: (line) => lines.push(line), retry: { attempts: 2, baseMs: 10, maxMs: 20 },
    link: { openOrder: async (id) => ({ doc: docs.get(id)!, close() {}, acknowledged: async () => [] }), photo: async () => photo },
  }
  const newOrder = () => {
    const orderId = newOrderId()
    const doc = new Y.Doc()
    writeSpec(doc, { id: orderId, user: 'u1', front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [0, 1].map(() => ({ image: sha256Hex(photo), product: 'S', qty: 1 })) })
    doc.transact(() => { const r = doc.getMap('receipt'); r.set('status', 'accepted'); r.set('lab', 'lab-1'); r.set('receivedAt', new Date().toISOString()) })
    docs.set(orderId, doc)
    return orderId
  }
  const sidecar = (jobId: string, name: string) =>
    writeFileSync(join(prints, `${jobId}-${name}.json`), JSON.stringify({ jobId, name, copies: 1, media: STICKER, format: 'image/jpeg', submittedAt: new Date().toISOString() }))
  const jpegsOf = (name: string) => readdirSync(prints).filter((f) => f.endsWith(`-${name}.jpg`)).length

  // As a SIGKILL leaves it: item 0 intended, its sidecar written, no JPEG; item 1 intended, printed whole.
  const torn = newOrder()
  mkdirSync(prints, { recursive: true })
  journal.intend(torn, 0, `${torn}-0`)
  sidecar('1', `${torn}-0`)
  journal.intend(torn, 1, `${torn}-1`)
  sidecar('2', `${torn}-1`)
  writeFileSync(join(prints, `2-${torn}-1.jpg`), photo)
  assert.equal(await printOrder(ctx, torn), { status: 'printed' }, lines.join('\n'))
  assert.is(jpegsOf(`${torn}-0`), 1, 'the torn job sent again')
  assert.is(jpegsOf(`${torn}-1`), 1, 'the completed job not sent again')
  assert.ok(lines.some((l) => l.includes('item 1: job 1 aborted did not print; sending it again')), lines.join('\n'))
  assert.ok(lines.some((l) => l.includes('item 2 was already sent as job 2')), lines.join('\n'))

  // A journal that recorded the torn job as ended (aborted): not sent again by itself; the operator's retry sends it.
  const aborted = newOrder()
  journal.intend(aborted, 0, `${aborted}-0`)
  sidecar('50', `${aborted}-0`)
  journal.finish(aborted, 0, `${aborted}-0`, '50', 'aborted', 'document-missing', null)
  const first = await printOrder(ctx, aborted)
  assert.is(first.status, 'failed')
  assert.is(jpegsOf(`${aborted}-0`), 0)
  assert.is(journal.forgetUnprinted(aborted), 1)
  assert.equal(await printOrder(ctx, aborted), { status: 'printed' })
  assert.is(jpegsOf(`${aborted}-0`), 1)
  assert.is(jpegsOf(`${aborted}-1`), 1, 'the item that had printed is not printed again')
})

test.run()
