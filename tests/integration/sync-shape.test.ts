// readShape (an update's shape read off its structure) must give exactly what tryUpdate (the
// update applied to a scratch copy) gives whenever it answers at all: seeded random edits by
// several devices, with deletes, overwrites, nested lists of maps, offline edits and refused ones.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { readShape, scratchCopy, tryUpdate, type Trial } from '../../sync-server/shape.ts'
import { MAX_NESTING, UpdateTooDeep } from '../../sync-server/update-cost.ts'
import { writeSpec } from '../../shared/schema.ts'
import { closed, connect, removeDir, signUp, startRelay, synced, waitFor } from '../helpers/relay.ts'
import { twoClientChain, twoClientChainByYjs } from '../helpers/nested-chain.ts'

/** Small seeded PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MAPS = ['spec', 'receipt', 'progress', 'instore', 'history']
const SPEC_KEYS = ['items', 'note', 'front', 'state', 'user', 'id']

function randomEdit(doc: Y.Doc, random: () => number): void {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]
  const map = doc.getMap(pick(MAPS))
  const roll = random()
  if (map === doc.getMap('spec') && roll < 0.5) {
    let items = map.get('items') as Y.Array<Y.Map<unknown>> | undefined
    if (!(items instanceof Y.Array) || random() < 0.05) {
      items = new Y.Array()
      map.set('items', items)
    }
    const r = random()
    if (r < 0.4 || items.length === 0) {
      const item = new Y.Map<unknown>()
      item.set('qty', 1)
      item.set('product', 'L')
      items.insert(Math.floor(random() * (items.length + 1)), [item])
    } else if (r < 0.8) {
      items.get(Math.floor(random() * items.length)).set('qty', Math.floor(random() * 9))
    } else {
      items.delete(Math.floor(random() * items.length), 1)
    }
    return
  }
  const key = map === doc.getMap('spec') ? pick(SPEC_KEYS) : pick(['a', 'b', 'status', 'lab'])
  if (roll < 0.8) map.set(key, pick(['draft', 'submitted', 'x', 'u1', 'u2', 42]))
  else map.delete(key)
}

function same(fast: Trial, slow: Trial, context: string): void {
  assert.equal([...fast.shape.maps].sort(), [...slow.shape.maps].sort(), `maps, ${context}`)
  assert.equal([...fast.shape.specKeys].sort(), [...slow.shape.specKeys].sort(), `spec keys, ${context}`)
  assert.is(fast.shape.nextState, slow.shape.nextState, `next state, ${context}`)
  assert.is(fast.shape.nextUser, slow.shape.nextUser, `next user, ${context}`)
  assert.is(fast.shape.nextId, slow.shape.nextId, `next id, ${context}`)
  assert.is(fast.changed, slow.changed, `changed, ${context}`)
  assert.is(fast.incomplete, slow.incomplete, `incomplete, ${context}`)
}

test('readShape agrees with tryUpdate on every update it judges (random edits by three devices)', () => {
  let judged = 0
  let passed = 0
  for (let seed = 1; seed <= 60; seed++) {
    const random = rng(seed)
    const relay = new Y.Doc()
    const devices = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
    for (let step = 0; step < 120; step++) {
      const device = devices[Math.floor(random() * devices.length)]
      // Sometimes a device syncs from the relay first; otherwise it edits on what it had (offline).
      if (random() < 0.6) Y.applyUpdate(device, Y.encodeStateAsUpdate(relay, Y.encodeStateVector(device)))
      const before = Y.encodeStateVector(device)
      const edits = 1 + Math.floor(random() * 3)
      device.transact(() => { for (let i = 0; i < edits; i++) randomEdit(device, random) })
      // Either the increment (an update message) or everything the relay lacks (a sync step 2).
      const update = random() < 0.7 ? Y.encodeStateAsUpdate(device, before) : Y.encodeStateAsUpdate(device, Y.encodeStateVector(relay))
      const context = `seed ${seed}, step ${step}`
      const fast = readShape(relay, update)
      const slow = tryUpdate(scratchCopy(relay), update)
      if (fast !== null) {
        judged++
        same(fast, slow, context)
      } else {
        passed++
      }
      // The relay takes what is complete and refuses the rest, as Room.receiveUpdate does.
      if (!slow.incomplete) Y.applyUpdate(relay, update)
    }
  }
  assert.ok(judged > 2_000, `readShape judged most updates itself (${judged} judged, ${passed} left to tryUpdate)`)
})

test('readShape leaves to tryUpdate an update that builds on changes the document lacks', () => {
  const device = new Y.Doc()
  device.getMap('spec').set('note', 'first')
  const first = Y.encodeStateAsUpdate(device)
  const sv = Y.encodeStateVector(device)
  device.getMap('spec').set('note', 'second')
  const second = Y.encodeStateAsUpdate(device, sv)
  const relay = new Y.Doc()
  assert.is(readShape(relay, second), null)
  assert.ok(tryUpdate(scratchCopy(relay), second).incomplete)
  Y.applyUpdate(relay, first)
  const trial = readShape(relay, second)
  assert.ok(trial !== null && trial.changed && !trial.incomplete)
  assert.equal([...trial!.shape.specKeys], ['note'])
})

test('readShape leaves to tryUpdate an item inserted before a neighbour the document lacks', () => {
  // Tab 1 appends b after a; tab 2 gets b over BroadcastChannel and inserts c between them; c
  // reaches the relay first. c's left neighbour is known, its right one is not: Yjs holds c back.
  const tab1 = new Y.Doc()
  const relay = new Y.Doc()
  const list = () => tab1.getMap('spec').get('items') as Y.Array<string>
  tab1.getMap('spec').set('items', new Y.Array<string>())
  list().insert(0, ['a'])
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(tab1))
  list().insert(1, ['b'])
  const tab2 = new Y.Doc()
  Y.applyUpdate(tab2, Y.encodeStateAsUpdate(tab1))
  const before = Y.encodeStateVector(tab2)
  ;(tab2.getMap('spec').get('items') as Y.Array<string>).insert(1, ['c'])
  const c = Y.encodeStateAsUpdate(tab2, before)
  assert.is(readShape(relay, c), null)
  assert.ok(tryUpdate(scratchCopy(relay), c).incomplete)
})

test("readShape reads a new order's first spec.state, spec.user and spec.id off the update", () => {
  const device = new Y.Doc()
  writeSpec(device, { id: 'o1', user: 'u1', front: 'f', createdAt: '2026-01-01T00:00:00Z', state: 'draft', items: [{ image: 'i', product: 'L', qty: 1 }] })
  const update = Y.encodeStateAsUpdate(device)
  const relay = new Y.Doc()
  const trial = readShape(relay, update)
  assert.ok(trial !== null)
  same(trial!, tryUpdate(scratchCopy(relay), update), 'first write')
  assert.is(trial!.shape.nextState, 'draft')
  assert.is(trial!.shape.nextUser, 'u1')
  assert.is(trial!.shape.nextId, 'o1')
})

test('readShape leaves to tryUpdate a change of spec.state, spec.user or spec.id once set, or set twice in one update', () => {
  for (const key of ['state', 'user', 'id']) {
    const device = new Y.Doc()
    device.getMap('spec').set(key, 'x')
    const relay = new Y.Doc()
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(device))
    const sv = Y.encodeStateVector(device)
    device.getMap('spec').set(key, 'y')
    assert.is(readShape(relay, Y.encodeStateAsUpdate(device, sv)), null, `changed ${key}`)
    const other = new Y.Doc()
    other.getMap('spec').set(key, 'a')
    other.getMap('spec').set(key, 'b')
    assert.is(readShape(new Y.Doc(), Y.encodeStateAsUpdate(other)), null, `set twice ${key}`)
    const deleted = new Y.Doc()
    Y.applyUpdate(deleted, Y.encodeStateAsUpdate(device))
    const before = Y.encodeStateVector(deleted)
    deleted.getMap('spec').delete(key)
    assert.is(readShape(relay, Y.encodeStateAsUpdate(deleted, before)), null, `deleted ${key}`)
  }
})

test('two devices giving spec.state its first value: the relay judges the second on what the first left', () => {
  const a = new Y.Doc()
  const b = new Y.Doc()
  a.getMap('spec').set('state', 'draft')
  b.getMap('spec').set('state', 'submitted')
  const relay = new Y.Doc()
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(a))
  const second = Y.encodeStateAsUpdate(b)
  assert.is(readShape(relay, second), null) // which value wins is Yjs's conflict rule: tryUpdate applies it
})

test('a quantity change deep in spec.items is judged as a change to spec.items', () => {
  const device = new Y.Doc()
  const items = new Y.Array<Y.Map<unknown>>()
  device.getMap('spec').set('items', items)
  const item = new Y.Map<unknown>()
  items.push([item])
  item.set('qty', 1)
  const relay = new Y.Doc()
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(device))
  const sv = Y.encodeStateVector(device)
  item.set('qty', 2)
  const trial = readShape(relay, Y.encodeStateAsUpdate(device, sv))
  assert.ok(trial)
  assert.equal([...trial!.shape.maps], ['spec'])
  assert.equal([...trial!.shape.specKeys], ['items'])
})

/** `depth` maps, each inside the one before, under the top-level map `nest` (which counts as 1). */
function nestedMaps(doc: Y.Doc, depth: number, from: Y.Map<unknown> = doc.getMap('nest')): Y.Map<unknown> {
  let map = from
  doc.transact(() => {
    for (let i = 1; i < depth; i++) {
      const inner = new Y.Map<unknown>()
      map.set('a', inner)
      map = inner
    }
  })
  return map
}

const throwsTooDeep = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    return error instanceof UpdateTooDeep
  }
  return false
}

test(`an update nesting types more than ${MAX_NESTING} deep is refused before anything is applied, however it arrives`, () => {
  // Yjs walks from each type an update changes up to the top: n maps n deep, each touched, cost n²/2.
  const ok = new Y.Doc()
  nestedMaps(ok, MAX_NESTING)
  const relay = new Y.Doc()
  assert.ok(readShape(relay, Y.encodeStateAsUpdate(ok)), `${MAX_NESTING} deep is judged as usual`)
  const deep = new Y.Doc()
  nestedMaps(deep, MAX_NESTING + 1)
  assert.ok(throwsTooDeep(() => readShape(relay, Y.encodeStateAsUpdate(deep))), 'one more level in one update')
  // One level at a time, each update on what the relay already has.
  const device = new Y.Doc()
  const innermost = nestedMaps(device, MAX_NESTING)
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(device))
  const before = Y.encodeStateVector(device)
  innermost.set('leaf', 1)
  assert.ok(readShape(relay, Y.encodeStateAsUpdate(device, before)), 'a value at the deepest level is fine')
  const again = Y.encodeStateVector(device)
  innermost.set('deeper', new Y.Map())
  const oneMore = Y.encodeStateAsUpdate(device, again)
  assert.ok(throwsTooDeep(() => readShape(relay, oneMore)), 'a type one level below the deepest')
  // Beside a kind of content readShape leaves to tryUpdate, or behind an item the relay lacks.
  const mixed = new Y.Doc()
  mixed.getText('t').insertEmbed(0, { image: 'x' })
  nestedMaps(mixed, MAX_NESTING + 1)
  assert.ok(throwsTooDeep(() => readShape(new Y.Doc(), Y.encodeStateAsUpdate(mixed))), 'beside an embed')
})

test('the depth check follows a chain of maps given in any order, with several clients, without recursion', () => {
  // 100,000 maps nested, by two clients taking turns (500 maps a turn), merged into one update:
  // refused at once. The update is written straight (Y.Docs take 16 s to build it), byte for byte
  // what two Y.Docs and Y.mergeUpdates give, which is checked here on a smaller chain of the kind.
  assert.equal(twoClientChain(6, 500), twoClientChainByYjs(6, 500), 'the same bytes as real Y.Docs give')
  const update = twoClientChain(200, 500)
  const start = performance.now()
  assert.ok(throwsTooDeep(() => readShape(new Y.Doc(), update)))
  assert.ok(performance.now() - start < 5_000, 'in linear time')
})

test('at a real relay, a customer sending types nested too deep is cut off (4400) and nothing of it is stored', async () => {
  const relay = await startRelay()
  try {
    const { userId, token } = await signUp(relay.url)
    const room = `user/${userId}`
    const first = connect(relay, room, token)
    await synced(first.provider)
    first.doc.getMap('profile').set('name', 'kept')
    nestedMaps(first.doc, MAX_NESTING + 8)
    const { code } = await closed(first.provider, 10_000)
    first.provider.destroy()
    assert.is(code, 4400)
    const again = connect(relay, room, token)
    await synced(again.provider)
    assert.is(again.doc.getMap('nest').size, 0, 'the nested maps were not stored')
    assert.is(again.doc.getMap('profile').get('name'), 'kept', 'the write before them was')
    again.provider.destroy()
    assert.is((await fetch(`${relay.url}/healthz`)).status, 200)
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

/** A V1 update of `count` plain values from client 7, each written by `item` (info byte onwards), byte by byte as no Yjs client would. */
function crafted(count: number, item: (encoder: encoding.Encoder, i: number) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, count)
  encoding.writeVarUint(encoder, 7)
  encoding.writeVarUint(encoder, 0)
  for (let i = 0; i < count; i++) item(encoder, i)
  encoding.writeVarUint(encoder, 0) // no deletions
  return encoding.toUint8Array(encoder)
}

/** A y-websocket update message carrying `update`, sent on the provider's own socket. */
function sendRaw(provider: { ws: WebSocket | null }, update: Uint8Array): void {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0) // sync
  encoding.writeVarUint(encoder, 2) // update
  encoding.writeVarUint8Array(encoder, update)
  provider.ws!.send(encoding.toUint8Array(encoder))
}

/** The slowest /healthz answer while `until` is pending (polled every 5 ms). */
async function healthzWhile(url: string, until: Promise<unknown>): Promise<number> {
  let done = false
  until.then(() => (done = true), () => (done = true))
  let slowest = 0
  while (!done) {
    const start = performance.now()
    assert.is((await fetch(`${url}/healthz`)).status, 200)
    slowest = Math.max(slowest, performance.now() - start)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return slowest
}

test('at a real relay, updates Yjs would need seconds to place are cut off (4400), /healthz stays fast, nothing is stored', async () => {
  const relay = await startRelay() // default limits: a user document of 256 KiB holds about 27,000 maps in a list
  const LENGTH = 25_000
  try {
    // (a) 400 values, each with its left neighbour at the list's start and its right one at its end.
    const a = await signUp(relay.url)
    const first = connect(relay, `user/${a.userId}`, a.token)
    await synced(first.provider)
    first.doc.getArray('list').push(Array.from({ length: LENGTH }, () => new Y.Map()))
    const listed = connect(relay, `user/${a.userId}`, a.token)
    await waitFor(() => listed.doc.getArray('list').length === LENGTH, 'the list stored', 20_000)
    listed.provider.destroy()
    const clientOfList = first.doc.clientID
    const far = crafted(400, (encoder, i) => {
      encoding.writeUint8(encoder, 0x80 | 0x40 | 8) // both neighbours; plain values
      for (const id of [[clientOfList, 0], [clientOfList, LENGTH - 1]]) { encoding.writeVarUint(encoder, id[0]); encoding.writeVarUint(encoder, id[1]) }
      encoding.writeVarUint(encoder, 1)
      encoding.writeAny(encoder, i)
    })
    const cutA = closed(first.provider, 10_000)
    sendRaw(first.provider as unknown as { ws: WebSocket }, far)
    const slowestA = await healthzWhile(relay.url, cutA)
    assert.is((await cutA).code, 4400)
    first.provider.destroy()
    // (b) 20,000 values for one key of a map, none with a left neighbour (216 KB).
    const b = await signUp(relay.url)
    const second = connect(relay, `user/${b.userId}`, b.token)
    await synced(second.provider)
    const firsts = crafted(20_000, (encoder, i) => {
      encoding.writeUint8(encoder, 0x20 | 8) // parent and key given; plain values
      encoding.writeVarUint(encoder, 1)
      encoding.writeVarString(encoder, 'm')
      encoding.writeVarString(encoder, 'k')
      encoding.writeVarUint(encoder, 1)
      encoding.writeAny(encoder, i)
    })
    const cutB = closed(second.provider, 10_000)
    sendRaw(second.provider as unknown as { ws: WebSocket }, firsts)
    const slowestB = await healthzWhile(relay.url, cutB)
    assert.is((await cutB).code, 4400)
    second.provider.destroy()
    console.log(`slowest /healthz while refusing: far inserts ${slowestA.toFixed(0)} ms, one key's values ${slowestB.toFixed(0)} ms`)
    assert.ok(slowestA < 1000 && slowestB < 1000, `/healthz took ${slowestA.toFixed(0)} and ${slowestB.toFixed(0)} ms`)
    // Nothing of either was stored; the relay still serves both documents.
    const againA = connect(relay, `user/${a.userId}`, a.token)
    const againB = connect(relay, `user/${b.userId}`, b.token)
    await synced(againA.provider, 20_000)
    await synced(againB.provider)
    assert.is(againA.doc.getArray('list').length, LENGTH, 'the list as it was')
    assert.is(againB.doc.getMap('m').size, 0, "the key's values were not stored")
    againA.provider.destroy()
    againB.provider.destroy()
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

test.run()
