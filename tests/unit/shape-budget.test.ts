// Yjs places each new item by scanning what lies between its neighbours (Item.integrate), so a
// crafted update of a few hundred bytes can make it work for seconds. readShape charges every
// update that work, read off its bytes and the document, and refuses one over MAX_SCAN_STEPS
// (UpdateTooCostly) before anything is applied; honest updates, large merges included, pass far
// below it. Times are CPU time of this process, so other processes do not count against a bound.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { readShape } from '../../sync-server/shape.ts'
import { MAX_SCAN_STEPS, UpdateTooCostly, scanSteps } from '../../sync-server/update-cost.ts'

function cpuMs(run: () => void): number {
  const before = process.cpuUsage()
  run()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

/** Runs readShape and says whether it refused the update as too costly, with the CPU it took. */
function refused(doc: Y.Doc, update: Uint8Array): { refused: boolean; ms: number } {
  let caught: unknown = null
  const ms = cpuMs(() => { try { readShape(doc, update) } catch (error) { caught = error } })
  if (caught !== null && !(caught instanceof UpdateTooCostly)) throw caught
  return { refused: caught instanceof UpdateTooCostly, ms }
}

// ------------------------------------------------------------------ crafted updates, byte by byte

const ORIGIN = 0x80
const RIGHT = 0x40
const SUB = 0x20
const ANY = 8

/** One item: plain value `value`, with the given neighbours, or (neither) its parent and key. */
interface Raw { origin?: [number, number]; right?: [number, number]; parent?: string; key?: string; value: number }

/** A V1 update: for each client, its items from clock 0 (one value each), and no deletions. */
function craft(clients: Map<number, Raw[]>): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clients.size)
  for (const [client, items] of clients) {
    encoding.writeVarUint(encoder, items.length)
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, 0)
    for (const item of items) {
      const info = ANY | (item.origin ? ORIGIN : 0) | (item.right ? RIGHT : 0) | (item.key !== undefined && !item.origin && !item.right ? SUB : 0)
      encoding.writeUint8(encoder, info)
      for (const id of [item.origin, item.right]) if (id) { encoding.writeVarUint(encoder, id[0]); encoding.writeVarUint(encoder, id[1]) }
      if (!item.origin && !item.right) {
        encoding.writeVarUint(encoder, 1)
        encoding.writeVarString(encoder, item.parent!)
        if (item.key !== undefined) encoding.writeVarString(encoder, item.key)
      }
      encoding.writeVarUint(encoder, 1)
      encoding.writeAny(encoder, item.value)
    }
  }
  encoding.writeVarUint(encoder, 0)
  return encoding.toUint8Array(encoder)
}

/** A document holding a list of `length` maps pushed by client 1 (each map its own item, clocks 0..length-1). */
function listOfMaps(length: number): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = 1
  doc.getArray('list').push(Array.from({ length }, () => new Y.Map()))
  return doc
}

// ------------------------------------------------------------------ attacks

test('far inserts: 100 values put between a 100,000-map list\'s start and its end are refused at once', () => {
  const doc = listOfMaps(100_000)
  // Each with its left neighbour near the start and its right one at the end, or no right one.
  const update = craft(new Map([[7, Array.from({ length: 100 }, (_, i): Raw => i % 2 === 0 ? { origin: [1, 1], right: [1, 99_999], value: i } : { origin: [1, 2], value: i })]]))
  const { refused: was, ms } = refused(doc, update)
  console.log(`far inserts: ${update.length} B, refused ${was} in ${ms.toFixed(1)} ms CPU`)
  assert.ok(was, 'refused as too costly')
  assert.ok(ms < 1_000, `the check took ${ms.toFixed(0)} ms CPU`)
  assert.is((doc.getArray('list')).length, 100_000, 'nothing applied')
})

test('far inserts with no left neighbour (the list\'s start) are refused too', () => {
  const doc = listOfMaps(100_000)
  const update = craft(new Map([[7, Array.from({ length: 100 }, (_, i): Raw => ({ right: [1, 99_999], value: i })) ]]))
  assert.ok(refused(doc, update).refused)
})

test('40,000 values for one map key, none with a left neighbour (432 KB), are refused in a fraction of a second', () => {
  const doc = new Y.Doc()
  doc.getMap('m').set('other', 1)
  const update = craft(new Map([[9, Array.from({ length: 40_000 }, (_, i): Raw => ({ parent: 'm', key: 'k', value: i }))]]))
  const { refused: was, ms } = refused(doc, update)
  console.log(`one key's values: ${update.length} B, refused ${was} in ${ms.toFixed(1)} ms CPU`)
  assert.ok(was)
  // Reading 40,000 items off 432 KB is most of it (Yjs took 4.5 s to apply them).
  assert.ok(ms < 1_000, `the check took ${ms.toFixed(0)} ms CPU`)
  assert.is(doc.getMap('m').has('k'), false, 'nothing applied')
})

test('values for a key that already has 20,000, with no left neighbour, are refused', () => {
  // Each value set after the one before by the other of two clients: Yjs cannot merge them into one item.
  const doc = new Y.Doc()
  Y.applyUpdate(doc, craft(new Map([3, 4].map((client) => [client, Array.from({ length: 10_000 }, (_, i): Raw => {
    const n = 2 * i + (client - 3)
    return n === 0 ? { parent: 'm', key: 'k', value: n } : { origin: [n % 2 === 0 ? 4 : 3, Math.floor((n - 1) / 2)], value: n }
  })]))))
  let values = 0
  for (let item = (doc.getMap('m') as unknown as { _map: Map<string, Y.Item> })._map.get('k') ?? null; item !== null; item = item.left) values++
  assert.is(values, 20_000, 'the key holds 20,000 values')
  const update = craft(new Map([[9, Array.from({ length: 50 }, (_, i): Raw => ({ parent: 'm', key: 'k', value: i }))]]))
  assert.ok(refused(doc, update).refused)
  assert.not.ok(refused(doc, craft(new Map([[9, [{ origin: [4, 9_999], value: 1 }]]]))).refused, 'a value after the last one is not')
})

test('many values sharing one left and one right neighbour (forged clients) are refused: n of them cost Yjs n²/2', () => {
  const doc = listOfMaps(2)
  const clients = new Map<number, Raw[]>()
  for (let c = 0; c < 2000; c++) clients.set(100 + c, [{ origin: [1, 0], right: [1, 1], value: c }])
  assert.ok(refused(doc, craft(clients)).refused)
})

test('a chain of values, then values each put between the chain\'s start and one link further along, is refused', () => {
  // Each of the last n values scans the whole chain before its right neighbour: no two share a pair
  // of neighbours, and none has anything of the document between its neighbours.
  const doc = listOfMaps(2)
  const chain = 6000
  const links: Raw[] = Array.from({ length: chain }, (_, i) => ({ origin: i === 0 ? [1, 0] : [10, i - 1], right: [1, 1], value: i }))
  const probes: Raw[] = Array.from({ length: 3000 }, (_, j) => ({ origin: [1, 0], right: [10, 3000 + j], value: j }))
  const update = craft(new Map([[10, links], [5, probes]]))
  const { refused: was, ms } = refused(doc, update)
  assert.ok(was)
  assert.ok(ms < 1_000, `the check took ${ms.toFixed(0)} ms CPU`)
  // What it would cost Yjs, on a smaller chain (a tenth, so about a hundredth of the work).
  const small = craft(new Map([[10, links.slice(0, 400)], [5, probes.slice(0, 100).map((p, j) => ({ ...p, right: [10, 300 + j] as [number, number] }))]]))
  const copy = listOfMaps(2)
  const steps = scanSteps(listOfMaps(2), small)
  console.log(`chain probes: refused in ${ms.toFixed(1)} ms CPU; 100 probes along 400 links cost Yjs ${cpuMs(() => Y.applyUpdate(copy, small)).toFixed(1)} ms, charged ${steps} steps`)
})

// ------------------------------------------------------------------ honest updates

/** An order's items list as the PWA writes it: maps pushed into spec.items. */
function prints(doc: Y.Doc, count: number, at?: number): void {
  doc.transact(() => {
    const items = doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>
    const maps = Array.from({ length: count }, (_, i) => {
      const item = new Y.Map<unknown>()
      item.set('image', `sha256-${i}`)
      item.set('product', 'L')
      item.set('qty', 1)
      return item
    })
    if (at === undefined) items.push(maps)
    else items.insert(at, maps)
  })
}

function order(): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = 1
  doc.transact(() => {
    const spec = doc.getMap('spec')
    spec.set('id', 'o1')
    spec.set('user', 'u1')
    spec.set('state', 'draft')
    spec.set('items', new Y.Array())
  })
  prints(doc, 300)
  return doc
}

function device(from: Y.Doc, clientID: number): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientID
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(from))
  return doc
}

/** Charges an update, asserting readShape does not refuse it; returns the steps charged. */
function accepted(relay: Y.Doc, update: Uint8Array, what: string): number {
  const steps = scanSteps(relay, update)
  assert.not.ok(refused(relay, update).refused, what)
  console.log(`${what}: ${update.length} B, ${steps} steps of ${MAX_SCAN_STEPS}`)
  return steps
}

test('two devices\' offline edits merged (500 prints each at the end, and into the middle) are far below the budget', () => {
  for (const at of [undefined, 150, 0]) {
    const relay = order()
    const a = device(relay, 11)
    const b = device(relay, 12)
    prints(a, 500, at)
    prints(b, 500, at)
    const sv = Y.encodeStateVector(relay)
    const merged = Y.mergeUpdates([Y.encodeStateAsUpdate(a, sv), Y.encodeStateAsUpdate(b, sv)])
    assert.ok(accepted(relay, merged, `two devices' 500 prints each ${at === undefined ? 'at the end' : `at ${at}`}, merged`) < MAX_SCAN_STEPS / 20)
    // The second device's step 2 after the first's is on the relay.
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(a, sv))
    assert.ok(accepted(relay, Y.encodeStateAsUpdate(b, Y.encodeStateVector(relay)), `then the second device's sync step 2`) < MAX_SCAN_STEPS / 20)
  }
})

test('a long-lived order edited thousands of times, then a device\'s long offline session (sync step 2), is far below the budget', () => {
  const relay = order()
  const phone = device(relay, 21)
  const lab = device(relay, 22)
  const spec = (doc: Y.Doc) => doc.getMap('spec')
  const items = (doc: Y.Doc) => spec(doc).get('items') as Y.Array<Y.Map<unknown>>
  // Thousands of edits, each synced: quantities, notes, states, prints added and removed.
  for (let i = 0; i < 3000; i++) {
    const before = Y.encodeStateVector(relay)
    const who = i % 3 === 0 ? lab : phone
    who.transact(() => {
      items(who).get(i % items(who).length).set('qty', 1 + (i % 9))
      spec(who).set('note', `note ${i}`)
      if (i % 50 === 0) items(who).delete(i % items(who).length, 1)
      if (i % 40 === 0) prints(who, 2, i % items(who).length)
    })
    const update = Y.encodeStateAsUpdate(who, before)
    scanSteps(relay, update)
    Y.applyUpdate(relay, update)
    Y.applyUpdate(phone, update)
    Y.applyUpdate(lab, update)
  }
  // Then the phone goes offline for a long session while the lab keeps writing.
  for (let i = 0; i < 2000; i++) {
    phone.transact(() => {
      items(phone).get((i * 7) % items(phone).length).set('qty', 1 + (i % 9))
      if (i % 10 === 0) spec(phone).set('note', `offline ${i}`)
      if (i % 25 === 0) prints(phone, 3, (i * 13) % items(phone).length)
      if (i % 30 === 0) items(phone).delete((i * 11) % items(phone).length, 1)
    })
    lab.transact(() => {
      items(lab).get((i * 5) % items(lab).length).set('qty', 1 + (i % 7))
      if (i % 10 === 0) spec(lab).set('note', `lab ${i}`)
    })
  }
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(lab, Y.encodeStateVector(relay)))
  const step2 = Y.encodeStateAsUpdate(phone, Y.encodeStateVector(relay))
  assert.ok(accepted(relay, step2, 'the phone\'s sync step 2 after 2,000 offline edits against 2,000 of the lab\'s') < MAX_SCAN_STEPS / 10)
})

test('a whole large document sent to an empty one (a first sync) is charged nothing', () => {
  const doc = order()
  prints(doc, 20_000)
  assert.is(accepted(new Y.Doc(), Y.encodeStateAsUpdate(doc), 'a 20,300-print order, whole'), 0)
})

test.run()
