// GroupCommit with several commits in flight (the PostgreSQL DocStore's writers): the next batch
// starts while one is in flight, yet writes settle in the order they were made [DS2], a failed
// batch rejects only its own writes, and one in flight at a time (SQLite) stays one at a time.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GroupCommit, type QueuedWrite } from '../../storage/group-commit.ts'

/** A store whose commits end when the test says: each call is kept with its writes. */
function controlledStore() {
  const commits: Array<{ docs: string[]; finish(): void; fail(error: Error): void }> = []
  const commit = (writes: QueuedWrite[]) => new Promise<void>((resolve, reject) => {
    commits.push({ docs: writes.map((w) => w.doc), finish: resolve, fail: reject })
  })
  return { commits, commit }
}

const write = (doc: string): QueuedWrite => ({ doc, data: new Uint8Array([1]), snapshot: false })
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

test('with two in flight, the second batch starts before the first ends and settles after it', async () => {
  const store = controlledStore()
  const queue = new GroupCommit({ commit: store.commit, maxInFlight: 2 })
  const settled: string[] = []
  const first = queue.add(write('a')).then(() => settled.push('a'))
  await nextTurn()
  const second = queue.add(write('b')).then(() => settled.push('b'))
  await nextTurn()
  assert.equal(store.commits.map((c) => c.docs), [['a'], ['b']], 'b is committed while a is in flight')
  const third = queue.add(write('c')).then(() => settled.push('c'))
  await nextTurn()
  assert.is(store.commits.length, 2, 'no third commit while two are in flight')
  store.commits[1].finish()
  await nextTurn()
  assert.equal(settled, [], 'b is stored, but a (made before it) is not yet: b waits')
  store.commits[0].finish()
  await Promise.all([first, second])
  assert.equal(settled, ['a', 'b'])
  await nextTurn()
  assert.equal(store.commits[2]?.docs, ['c'], 'c went into the next batch once a slot was free')
  store.commits[2].finish()
  await third
  assert.equal(settled, ['a', 'b', 'c'])
})

test('a failed batch rejects its own writes; the batch after it settles with its own outcome, in order', async () => {
  const store = controlledStore()
  const queue = new GroupCommit({ commit: store.commit, maxInFlight: 2 })
  const order: string[] = []
  const first = queue.add(write('a')).then(() => order.push('a ok'), () => order.push('a failed'))
  await nextTurn()
  const second = queue.add(write('b')).then(() => order.push('b ok'), () => order.push('b failed'))
  await nextTurn()
  store.commits[1].finish()
  store.commits[0].fail(new Error('connection lost'))
  await Promise.all([first, second])
  assert.equal(order, ['a failed', 'b ok'])
})

test('flush waits for every batch in flight', async () => {
  const store = controlledStore()
  const queue = new GroupCommit({ commit: store.commit, maxInFlight: 2 })
  void queue.add(write('a'))
  await nextTurn()
  void queue.add(write('b'))
  await nextTurn()
  let flushed = false
  const flush = queue.flush().then(() => { flushed = true })
  await nextTurn()
  store.commits[1].finish()
  await nextTurn()
  assert.not.ok(flushed, 'a is still in flight')
  store.commits[0].finish()
  await nextTurn()
  store.commits[2]?.finish() // the flush's own (empty) batch commits nothing
  await flush
  assert.ok(flushed)
})

test('a document with a write in flight waits: its writes are never in two commits at once', async () => {
  const store = controlledStore()
  const queue = new GroupCommit({ commit: store.commit, maxInFlight: 2 })
  const first = queue.add(write('d'))
  await nextTurn()
  const again = queue.add(write('d'))
  const other = queue.add(write('e'))
  await nextTurn()
  assert.is(store.commits.length, 1, 'd is in flight: neither its next write nor what follows it starts')
  store.commits[0].finish()
  await first
  await nextTurn()
  assert.equal(store.commits[1]?.docs, ['d', 'e'])
  store.commits[1].finish()
  await Promise.all([again, other])
})

test('one in flight unless told: what arrives meanwhile waits for the commit in flight', async () => {
  const store = controlledStore()
  const queue = new GroupCommit({ commit: store.commit })
  const first = queue.add(write('a'))
  await nextTurn()
  const second = queue.add(write('b'))
  await nextTurn()
  assert.is(store.commits.length, 1)
  store.commits[0].finish()
  await first
  await nextTurn()
  assert.equal(store.commits[1].docs, ['b'])
  store.commits[1].finish()
  await second
})

test.run()
