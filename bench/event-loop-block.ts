// How long one message can stop a real relay's event loop. A customer sends its biggest single
// update (maps pushed into a draft's spec.items, or into its own user document) while a second
// client, in a worker thread of its own, asks /healthz every 5 ms: the slowest /healthz answer is
// the longest the relay stopped. Also: a sync step 1 answered with a whole large document, and
// updates built to be slow for Yjs itself (deep nesting, many clients inserting at one place,
// values put far from their left neighbour, many first values for one map key, values put
// along a chain): all refused now (4400), with what applying them would cost Yjs beside.
// Beside each, the same work timed in this process (CPU ms): readShape, Y.applyUpdate, encoding.
//
//   node --import tsx bench/event-loop-block.ts            every case (about two minutes)
//   node --import tsx bench/event-loop-block.ts --quick    the default-limit cases only
import { Worker } from 'node:worker_threads'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { DEFAULT_LIMITS, DEMO_CONFIG } from '../relay/config.ts'
import { readShape } from '../sync-server/shape.ts'
import { removeDir, signUp, startRelay, type RelayProcess } from '../tests/helpers/relay.ts'

const MiB = 1024 * 1024
/** relay/server.ts: frames above this close the socket (4413) before anything is decoded. */
const MAX_MESSAGE_BYTES = 8 * MiB
const quick = process.argv.includes('--quick')

// ------------------------------------------------------------------ measuring

/** A /healthz poller on its own thread, so this process's own work does not delay it. */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads')
let running = true
const samples = []
parentPort.on('message', () => { running = false })
;(async () => {
  while (running) {
    const start = performance.now()
    let failed = false
    try { const res = await fetch(workerData.url); await res.arrayBuffer() } catch { failed = true }
    samples.push((failed ? -1 : 1) * (performance.now() - start))
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  parentPort.postMessage(samples)
})()
`

/**
 * Runs `work` while polling /healthz. maxMs: the slowest answer (on a busy machine, other
 * processes' share of the CPU is in it too); cpuMs: CPU the relay process used for `work` (all its
 * threads: the writer thread's commit too), which other processes do not inflate.
 */
async function whilePolling<T>(relay: RelayProcess, work: () => Promise<T>): Promise<{ result: T; maxMs: number; cpuMs: number }> {
  const poller = new Worker(POLLER, { eval: true, workerData: { url: `${relay.url}/healthz` } })
  await sleep(300) // the poller's first requests (connection set-up) out of the way
  const cpuBefore = processCpuMs(relay.process.pid!)
  const result = await work()
  const cpuAfter = processCpuMs(relay.process.pid!)
  await sleep(300)
  const samples = await new Promise<number[]>((resolve) => { poller.once('message', resolve); poller.postMessage('stop') })
  await poller.terminate()
  // A failed poll counts with the time it took to fail (the relay may cut a request it could not answer in time).
  const failures = samples.filter((ms) => ms < 0).length
  if (failures > 0) console.log(`  (${failures} /healthz polls failed)`)
  return { result, maxMs: Math.max(...samples.map(Math.abs)), cpuMs: cpuAfter - cpuBefore }
}

/** utime + stime of a process, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

function cpuMs(run: () => void): number {
  const before = process.cpuUsage()
  run()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ the wire

function syncMessage(step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, step)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** A raw sync socket: frames out, and a wait for a sync message whose payload passes a test. */
async function socket(relay: RelayProcess, room: string, token: string) {
  const ws = new WebSocket(`${relay.wsUrl}/sync/${room}?token=${encodeURIComponent(token)}`, { maxPayload: 64 * MiB })
  ws.binaryType = 'nodebuffer'
  const waiters: Array<{ test: (step: number, payload: Uint8Array) => boolean; resolve: () => void }> = []
  let closed = ''
  ws.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    if (decoding.readVarUint(decoder) !== 0) return
    const step = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    for (const waiter of [...waiters]) {
      if (waiter.test(step, payload)) { waiters.splice(waiters.indexOf(waiter), 1); waiter.resolve() }
    }
  })
  ws.on('close', (code, reason) => { closed = `${code} ${reason}` })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  await sleep(100)
  return {
    /** Sends `payload` as `step` and resolves when a sync message passing `test` comes back. */
    exchange(step: number, payload: Uint8Array, test: (step: number, payload: Uint8Array) => boolean, timeoutMs = 600_000): Promise<number> {
      const start = performance.now()
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms${closed ? ` (closed ${closed})` : ''}`)), timeoutMs)
        const poll = setInterval(() => { if (closed) { clearInterval(poll); clearTimeout(timer); reject(new Error(`socket closed ${closed}`)) } }, 50)
        waiters.push({ test, resolve: () => { clearInterval(poll); clearTimeout(timer); resolve(performance.now() - start) } })
        ws.send(syncMessage(step, payload))
      })
    },
    /** Sends `payload` as `step` and resolves with the close code once the relay closes the socket. */
    refused(step: number, payload: Uint8Array): Promise<string> {
      return new Promise<string>((resolve) => {
        ws.once('close', (code) => resolve(String(code)))
        ws.send(syncMessage(step, payload))
      })
    },
    close: () => ws.close(),
  }
}

/** Sends an update and waits for its echo, which the relay sends once the update is durable. */
const echoOf = (update: Uint8Array) => (step: number, payload: Uint8Array) => step === 2 && payload.length === update.length

// ------------------------------------------------------------------ the updates

const hex = (i: number) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(8) // a sha256-long image name

/** A draft's first write, and one update pushing `count` item maps into spec.items. */
function draftPush(orderId: string, userId: string, count: number): { first: Uint8Array; push: Uint8Array } {
  const device = new Y.Doc()
  const spec = device.getMap('spec')
  device.transact(() => {
    spec.set('id', orderId)
    spec.set('user', userId)
    spec.set('state', 'draft')
    spec.set('items', new Y.Array())
  })
  const first = Y.encodeStateAsUpdate(device)
  const before = Y.encodeStateVector(device)
  const maps = Array.from({ length: count }, (_, i) => {
    const item = new Y.Map<unknown>()
    item.set('image', hex(i))
    item.set('product', 'L')
    item.set('qty', 1)
    return item
  })
  device.transact(() => (spec.get('items') as Y.Array<Y.Map<unknown>>).push(maps))
  return { first, push: Y.encodeStateAsUpdate(device, before) }
}

/** The largest push whose update stays under `bytes` (items are all the same size, near enough). */
function draftPushUnder(orderId: string, userId: string, bytes: number) {
  const probe = draftPush(orderId, userId, 1000)
  const perItem = probe.push.length / 1000
  let count = Math.floor(bytes / perItem)
  for (;;) {
    const built = draftPush(orderId, userId, count)
    if (built.push.length <= bytes) return { ...built, count }
    count = Math.floor(count * 0.995)
  }
}

/** Pushes into the customer's own user document (any map is theirs to write). */
function userPush(count: number): Uint8Array {
  const device = new Y.Doc()
  const list = device.getArray('bench')
  list.push(Array.from({ length: count }, (_, i) => {
    const item = new Y.Map<unknown>()
    item.set('order', hex(i))
    item.set('at', '2026-12-05T20:00:00Z')
    return item
  }))
  return Y.encodeStateAsUpdate(device)
}

function userPushUnder(bytes: number): { update: Uint8Array; count: number } {
  const perItem = userPush(1000).length / 1000
  let count = Math.floor(bytes / perItem)
  for (;;) {
    const update = userPush(count)
    if (update.length <= bytes) return { update, count }
    count = Math.floor(count * 0.995)
  }
}

/** `depth` maps each inside the one before (one update), then one key set in each (a second). */
function deepNesting(depth: number): { create: Uint8Array; touch: Uint8Array } {
  const device = new Y.Doc()
  const maps: Y.Map<unknown>[] = []
  device.transact(() => {
    let map = device.getMap('nest') as Y.Map<unknown>
    for (let i = 0; i < depth; i++) { const inner = new Y.Map<unknown>(); map.set('a', inner); maps.push(inner); map = inner }
  })
  const create = Y.encodeStateAsUpdate(device)
  const before = Y.encodeStateVector(device)
  device.transact(() => { for (const map of maps) map.set('b', 1) })
  return { create, touch: Y.encodeStateAsUpdate(device, before) }
}

/** `clients` devices each appending one value to the same (empty) list, merged into one update. */
function concurrentInserts(clients: number): { base: Uint8Array; update: Uint8Array } {
  const origin = new Y.Doc()
  origin.getArray('list')
  origin.getMap('x').set('y', 1) // the list exists once this is stored
  const base = Y.encodeStateAsUpdate(origin)
  const parts: Uint8Array[] = []
  for (let i = 0; i < clients; i++) {
    const device = new Y.Doc()
    device.clientID = i + 1
    Y.applyUpdate(device, base)
    const before = Y.encodeStateVector(device)
    device.getArray('list').push([i])
    parts.push(Y.encodeStateAsUpdate(device, before))
  }
  return { base, update: Y.mergeUpdates(parts) }
}

/**
 * A list of `length` maps (one update), then `count` values each put between the list's start
 * and its last entry (no left neighbour, the last entry as right one), written byte by byte as no
 * Yjs client would: Yjs scans every entry in between for each (Item.integrate's conflict loop).
 */
function farInserts(length: number, count: number): { list: Uint8Array; inserts: Uint8Array } {
  const device = new Y.Doc()
  device.clientID = 1
  device.getArray('far').push(Array.from({ length }, () => new Y.Map()))
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // one client
  encoding.writeVarUint(encoder, count)
  encoding.writeVarUint(encoder, 7) // client 7
  encoding.writeVarUint(encoder, 0) // from clock 0
  for (let i = 0; i < count; i++) {
    encoding.writeUint8(encoder, 0x40 | 8) // a right neighbour; plain values
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, length - 1)
    encoding.writeVarUint(encoder, 1)
    encoding.writeAny(encoder, i)
  }
  encoding.writeVarUint(encoder, 0) // no deletions
  return { list: Y.encodeStateAsUpdate(device), inserts: encoding.toUint8Array(encoder) }
}

/** `count` first values for one key of map `m` from one client, none with a left neighbour: each walks all the key's values before it. */
function oneKeyValues(count: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, count)
  encoding.writeVarUint(encoder, 9)
  encoding.writeVarUint(encoder, 0)
  for (let i = 0; i < count; i++) {
    encoding.writeUint8(encoder, 0x20 | 8) // parent and key given; plain values
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarString(encoder, 'm')
    encoding.writeVarString(encoder, 'k')
    encoding.writeVarUint(encoder, 1)
    encoding.writeAny(encoder, i)
  }
  encoding.writeVarUint(encoder, 0)
  return encoding.toUint8Array(encoder)
}

/**
 * A two-entry list, then one update: a chain of `links` values after its first entry (each after the
 * one before), and `probes` values each between the first entry and one link further along the
 * chain: each probe scans the chain up to its right neighbour, though no two share a pair of neighbours.
 */
function chainProbes(links: number, probes: number): { list: Uint8Array; update: Uint8Array } {
  const device = new Y.Doc()
  device.clientID = 1
  device.getArray('far').push([new Y.Map(), new Y.Map()])
  const encoder = encoding.createEncoder()
  const item = (origin: [number, number], right: [number, number], value: number) => {
    encoding.writeUint8(encoder, 0x80 | 0x40 | 8)
    for (const id of [origin, right]) { encoding.writeVarUint(encoder, id[0]); encoding.writeVarUint(encoder, id[1]) }
    encoding.writeVarUint(encoder, 1)
    encoding.writeAny(encoder, value)
  }
  encoding.writeVarUint(encoder, 2)
  encoding.writeVarUint(encoder, links)
  encoding.writeVarUint(encoder, 10)
  encoding.writeVarUint(encoder, 0)
  for (let i = 0; i < links; i++) item(i === 0 ? [1, 0] : [10, i - 1], [1, 1], i)
  encoding.writeVarUint(encoder, probes)
  encoding.writeVarUint(encoder, 5)
  encoding.writeVarUint(encoder, 0)
  for (let j = 0; j < probes; j++) item([1, 0], [10, links - probes + j], j)
  encoding.writeVarUint(encoder, 0)
  return { list: Y.encodeStateAsUpdate(device), update: encoding.toUint8Array(encoder) }
}

/** Y.applyUpdate of `update` on a fresh document holding `base`, in CPU ms. */
function applyMs(base: Uint8Array[], update: Uint8Array): number {
  const doc = new Y.Doc()
  for (const b of base) Y.applyUpdate(doc, b)
  const ms = cpuMs(() => Y.applyUpdate(doc, update))
  doc.destroy()
  return ms
}

function readShapeMs(base: Uint8Array[], update: Uint8Array): number {
  const doc = new Y.Doc()
  for (const b of base) Y.applyUpdate(doc, b)
  const ms = cpuMs(() => { try { readShape(doc, update) } catch { /* refused: UpdateTooDeep, UpdateTooCostly */ } })
  doc.destroy()
  return ms
}

// ------------------------------------------------------------------ the cases

const rows: string[][] = [['case', 'bytes', '/healthz max ms', 'answered in ms', 'relay CPU ms', 'readShape ms', 'Y.applyUpdate ms']]
const size = (bytes: number) => `${(bytes / MiB).toFixed(2)} MiB`

async function orderPush(relay: RelayProcess, label: string, bytes: number): Promise<void> {
  const customer = await signUp(relay.url)
  const orderId = `bench-${Date.now().toString(36)}-${rows.length}`
  const { first, push, count } = draftPushUnder(orderId, customer.userId, bytes)
  const sync = await socket(relay, `order/${orderId}`, customer.token)
  await sync.exchange(2, first, echoOf(first))
  const { result: answered, maxMs, cpuMs: relayMs } = await whilePolling(relay, () => sync.exchange(2, push, echoOf(push)))
  sync.close()
  rows.push([`${label}: ${count} maps into spec.items`, size(push.length), maxMs.toFixed(0), answered.toFixed(0), relayMs.toFixed(0), readShapeMs([first], push).toFixed(0), applyMs([first], push).toFixed(0)])
}

async function main(): Promise<void> {
  const defaults = DEFAULT_LIMITS
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  console.log(`default limits: orderDocBytes ${size(defaults.orderDocBytes)}, userDocBytes ${size(defaults.userDocBytes)}; maxMessageBytes ${size(MAX_MESSAGE_BYTES)}`)
  const relay = await startRelay({ config: DEMO_CONFIG })
  try {
    // What the default limits let one customer send in one message.
    await orderPush(relay, 'order, default limit', defaults.orderDocBytes - 4096)
    const customer = await signUp(relay.url)
    const { update, count } = userPushUnder(defaults.userDocBytes - 4096)
    const own = await socket(relay, `user/${customer.userId}`, customer.token)
    const { result: answered, maxMs, cpuMs: relayMs } = await whilePolling(relay, () => own.exchange(2, update, echoOf(update)))
    rows.push([`user doc, default limit: ${count} maps`, size(update.length), maxMs.toFixed(0), answered.toFixed(0), relayMs.toFixed(0), readShapeMs([], update).toFixed(0), applyMs([], update).toFixed(0)])
    // A second socket of the same customer asks for everything: the relay encodes the whole document.
    const reader = await socket(relay, `user/${customer.userId}`, customer.token)
    const empty = Y.encodeStateVector(new Y.Doc())
    const step1 = await whilePolling(relay, () => reader.exchange(0, empty, (step, payload) => step === 1 && payload.length >= update.length))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, update)
    const encodeMs = cpuMs(() => Y.encodeStateAsUpdate(doc))
    rows.push([`sync step 1 for that ${size(update.length)} document`, size(update.length), step1.maxMs.toFixed(0), step1.result.toFixed(0), step1.cpuMs.toFixed(0), '-', `encode ${encodeMs.toFixed(0)}`])
    own.close()
    reader.close()
    // Updates built to be slow for Yjs's placing, into user documents at the default limit.
    const length = 25_000 // maps in a list: about what a 256 KiB user document holds
    const third = await signUp(relay.url)
    const far = farInserts(length, 400)
    const mine = await socket(relay, `user/${third.userId}`, third.token)
    await mine.exchange(2, far.list, echoOf(far.list))
    const scan = await whilePolling(relay, () => mine.refused(2, far.inserts))
    rows.push([`user doc of ${size(far.list.length)} (${length} maps in a list): 400 values put before its end (closed ${scan.result})`, `${far.inserts.length} B`, scan.maxMs.toFixed(0), '-', scan.cpuMs.toFixed(0), readShapeMs([far.list], far.inserts).toFixed(0), applyMs([far.list], far.inserts).toFixed(0)])
    const fourth = await signUp(relay.url)
    const values = oneKeyValues(20_000)
    const keyed = await socket(relay, `user/${fourth.userId}`, fourth.token)
    const walk = await whilePolling(relay, () => keyed.refused(2, values))
    rows.push([`user doc: 20,000 first values for one map key (closed ${walk.result})`, size(values.length), walk.maxMs.toFixed(0), '-', walk.cpuMs.toFixed(0), readShapeMs([], values).toFixed(0), applyMs([], values).toFixed(0)])
    const fifth = await signUp(relay.url)
    const chain = chainProbes(6000, 3000)
    const probed = await socket(relay, `user/${fifth.userId}`, fifth.token)
    await probed.exchange(2, chain.list, echoOf(chain.list))
    const probe = await whilePolling(relay, () => probed.refused(2, chain.update))
    rows.push([`user doc: 3000 values each put between a list's start and a link further along a 6000-value chain (closed ${probe.result})`, size(chain.update.length), probe.maxMs.toFixed(0), '-', probe.cpuMs.toFixed(0), readShapeMs([chain.list], chain.update).toFixed(0), quick ? '-' : applyMs([chain.list], chain.update).toFixed(0)])
    mine.close()
    keyed.close()
    probed.close()
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
  if (!quick) {
    // Limits raised so that only maxMessageBytes stops a frame: the biggest single message there is.
    const big = { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, orderDocBytes: 16 * MiB, userDocBytes: 16 * MiB, socketBufferBytes: 64 * MiB, writeBytesPerSecond: 64 * MiB } }
    const open = await startRelay({ config: big })
    try {
      await orderPush(open, 'order, 4 MiB', 4 * MiB)
      await orderPush(open, 'order, at maxMessageBytes', MAX_MESSAGE_BYTES - 64)
      // Built to be slow for Yjs itself: every type an update changes is walked up to the root
      // (callTypeObservers), and each insert scans the concurrent ones at its place.
      const customer = await signUp(open.url)
      const nest = deepNesting(4000)
      const own = await socket(open, `user/${customer.userId}`, customer.token)
      const deep = await whilePolling(open, () => own.refused(2, nest.create))
      rows.push([`user doc: 4000 maps nested (closed ${deep.result}); touching each once stored costs Yjs`, size(nest.create.length), deep.maxMs.toFixed(0), '-', deep.cpuMs.toFixed(0), readShapeMs([], nest.create).toFixed(0), applyMs([nest.create], nest.touch).toFixed(0)])
      const other = await signUp(open.url)
      const conflict = concurrentInserts(8000)
      const theirs = await socket(open, `user/${other.userId}`, other.token)
      await theirs.exchange(2, conflict.base, echoOf(conflict.base))
      const crowd = await whilePolling(open, () => theirs.refused(2, conflict.update))
      rows.push([`user doc: 8000 clients inserting at one place (closed ${crowd.result})`, size(conflict.update.length), crowd.maxMs.toFixed(0), '-', crowd.cpuMs.toFixed(0), readShapeMs([conflict.base], conflict.update).toFixed(0), applyMs([conflict.base], conflict.update).toFixed(0)])
      const third = await signUp(open.url)
      const far = farInserts(100_000, 100)
      const mine = await socket(open, `user/${third.userId}`, third.token)
      await mine.exchange(2, far.list, echoOf(far.list))
      const scan = await whilePolling(open, () => mine.refused(2, far.inserts))
      rows.push([`user doc of ${size(far.list.length)} (100,000 maps in a list): 100 values put before its end (closed ${scan.result})`, `${far.inserts.length} B`, scan.maxMs.toFixed(0), '-', scan.cpuMs.toFixed(0), readShapeMs([far.list], far.inserts).toFixed(0), applyMs([far.list], far.inserts).toFixed(0)])
      const fourth = await signUp(open.url)
      const values = oneKeyValues(40_000)
      const keyed = await socket(open, `user/${fourth.userId}`, fourth.token)
      const walk = await whilePolling(open, () => keyed.refused(2, values))
      rows.push([`user doc: 40,000 first values for one map key (closed ${walk.result})`, size(values.length), walk.maxMs.toFixed(0), '-', walk.cpuMs.toFixed(0), readShapeMs([], values).toFixed(0), applyMs([], values).toFixed(0)])
      keyed.close()
      own.close()
      theirs.close()
      mine.close()
    } finally {
      await open.stop()
      removeDir(open.dataDir)
    }
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on this machine (ms above include other processes' share of the CPU)`)
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
}

await main()
