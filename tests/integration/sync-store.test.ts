// SqliteDocStore on a real database file, committing on a writer thread and on the caller's
// thread: the same promises both ways (what resolved is on disk, a failed commit stores nothing
// of its batch and fails the room), and main-thread writes to the same file keep working.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { DOC_STORE_MIGRATIONS, SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { Room } from '../../sync-server/room.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

const update = (key: string, value: number) => {
  const doc = new Y.Doc()
  doc.getMap('m').set(key, value)
  return Y.encodeStateAsUpdate(doc)
}

/** What another process would read from the file right now. */
function storedRows(file: string, doc: string): Uint8Array[] {
  const reader = new Database(file, { readonly: true })
  try {
    return (reader.prepare('SELECT data FROM doc_updates WHERE doc = ? ORDER BY id').all(doc) as Array<{ data: Buffer }>).map((r) => new Uint8Array(r.data))
  } finally {
    reader.close()
  }
}

function refuseInserts(db: DB, doc: string): void {
  db.exec(`CREATE TRIGGER refuse_for_test BEFORE INSERT ON doc_updates WHEN NEW.doc = '${doc}'
           BEGIN SELECT RAISE(ABORT, 'disk refused the write (test)'); END`)
}

/** A store on a fresh database file, committing where asked. */
async function openStore(commitOn: 'worker' | 'caller') {
  const dir = tempDir('labsync-store-')
  const file = join(dir, 'relay.sqlite')
  const db = openDatabase(file, DOC_STORE_MIGRATIONS)
  const store = new SqliteDocStore(db, { commitOn })
  assert.is(await store.writerThread(), commitOn === 'worker', 'commits run where asked')
  return {
    file, db, store,
    async close() { await store.close(); db.close(); removeDir(dir) },
  }
}

/** The room `user/<userId>` on `store`, and a peer of that user collecting what it is sent. */
function userRoom(store: SqliteDocStore, userId: string) {
  return Room.load({ kind: 'user', name: `user/${userId}`, userId }, { store, hooks: {}, compactAfterUpdates: 500, maxRefusals: 20 })
}

function userPeer(userId: string) {
  const sent: Uint8Array[] = []
  const closedWith: number[] = []
  return {
    sent, closedWith,
    principal: { kind: 'user', userId } as const,
    awarenessIds: new Set<number>(),
    send: (m: Uint8Array) => { sent.push(m) },
    close: (e: { code: number }) => { closedWith.push(e.code) },
  }
}

for (const commitOn of ['worker', 'caller'] as const) {
  const setup = () => openStore(commitOn)

  test(`[${commitOn}] an append that resolved is in the file, in order, for any other reader`, async () => {
    const s = await setup()
    try {
      await Promise.all([s.store.append('order/a', update('x', 1)), s.store.append('order/a', update('y', 2))])
      const rows = storedRows(s.file, 'order/a')
      assert.is(rows.length, 2)
      const doc = new Y.Doc()
      for (const row of rows) Y.applyUpdate(doc, row)
      assert.equal(doc.getMap('m').toJSON(), { x: 1, y: 2 })
      assert.is((await s.store.load('order/a')).length, 2, 'load sees what the writer stored')
    } finally {
      await s.close()
    }
  })

  test(`[${commitOn}] appends made while a commit is in flight are all stored, each promise resolving once on disk`, async () => {
    const s = await setup()
    try {
      const done: Promise<void>[] = []
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 5; i++) done.push(s.store.append(`order/t${i}`, update(`k${turn}`, turn)))
        await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(done)
      for (let i = 0; i < 5; i++) assert.is(storedRows(s.file, `order/t${i}`).length, 20)
    } finally {
      await s.close()
    }
  })

  test(`[${commitOn}] a compaction replaces the log with its snapshot`, async () => {
    const s = await setup()
    try {
      const doc = new Y.Doc()
      for (let i = 0; i < 5; i++) {
        doc.getMap('m').set(`k${i}`, i)
        await s.store.append('user/u', Y.encodeStateAsUpdate(doc))
      }
      await s.store.compact('user/u', Y.encodeStateAsUpdate(doc))
      const rows = storedRows(s.file, 'user/u')
      assert.is(rows.length, 1)
      const back = new Y.Doc()
      Y.applyUpdate(back, rows[0])
      assert.is(back.getMap('m').size, 5)
    } finally {
      await s.close()
    }
  })

  test(`[${commitOn}] a failed commit rejects every write of its batch and stores none of them`, async () => {
    const s = await setup()
    try {
      await s.store.append('order/ok', update('before', 1))
      refuseInserts(s.db, 'order/bad')
      const results = await Promise.allSettled([
        s.store.append('order/ok', update('same-batch', 2)),
        s.store.append('order/bad', update('refused', 3)),
      ])
      assert.equal(results.map((r) => r.status), ['rejected', 'rejected'])
      assert.match(String((results[1] as PromiseRejectedResult).reason.message), /disk refused the write/)
      assert.is(storedRows(s.file, 'order/ok').length, 1, 'nothing of the failed batch is stored')
      assert.is(storedRows(s.file, 'order/bad').length, 0)
      await s.store.append('order/ok', update('after', 4))
      assert.is(storedRows(s.file, 'order/ok').length, 2, 'the next batch commits again')
    } finally {
      await s.close()
    }
  })

  test(`[${commitOn}] a failed commit fails the room: nothing is acknowledged and whenDurable rejects`, async () => {
    const s = await setup()
    const room = await userRoom(s.store, 'r1')
    try {
      await room.writeAsRelay((doc) => doc.getMap('profile').set('home', 'store-1'))
      refuseInserts(s.db, 'user/r1')
      const peer = userPeer('r1')
      const { sent, closedWith } = peer
      room.join(peer)
      const before = sent.length
      await room.writeAsRelay((doc) => doc.getMap('profile').set('home', 'store-2')).then(
        () => assert.unreachable('the failed write was acknowledged'),
        (error: Error) => assert.match(error.message, /could not be stored|disk refused/),
      )
      assert.ok(room.isFailed, 'the room is failed')
      assert.is(sent.length, before, 'no echo or broadcast of the failed write')
      assert.equal(closedWith, [4500])
      const doc = new Y.Doc()
      for (const row of storedRows(s.file, 'user/r1')) Y.applyUpdate(doc, row)
      assert.is(doc.getMap('profile').get('home'), 'store-1')
    } finally {
      room.destroy()
      await s.close()
    }
  })

  test(`[${commitOn}] a room stores a peer's update as it arrived, the relay's own write as its diff, and nothing for an update that brings nothing`, async () => {
    const s = await setup()
    const room = await userRoom(s.store, 'r2')
    try {
      const peer = userPeer('r2')
      const { sent } = peer
      room.join(peer)
      const client = new Y.Doc()
      const updates: Uint8Array[] = []
      client.on('update', (u: Uint8Array) => updates.push(u))
      client.getMap('profile').set('homeFront', 'store-1')
      room.receiveUpdate(peer, updates[0])
      await room.whenDurable()
      let rows = storedRows(s.file, 'user/r2')
      assert.equal(rows, [updates[0]], 'the peer\'s bytes, as sent')
      assert.ok(sent.some((m) => Buffer.from(m).includes(Buffer.from(updates[0]))), 'echoed to its writer')

      room.receiveUpdate(peer, updates[0]) // again: nothing new
      await room.whenDurable()
      assert.is(storedRows(s.file, 'user/r2').length, 1, 'an update that changes nothing is not stored')

      await room.writeAsRelay((doc) => doc.getMap('profile').set('checked', true))
      rows = storedRows(s.file, 'user/r2')
      assert.is(rows.length, 2)
      assert.not.ok(Y.parseUpdateMeta(rows[1]).to.has(client.clientID), 'the relay\'s write carries only its own change')
      const reloaded = new Y.Doc()
      for (const row of rows) Y.applyUpdate(reloaded, row)
      assert.equal(reloaded.getMap('profile').toJSON(), { homeFront: 'store-1', checked: true })
    } finally {
      room.destroy()
      await s.close()
    }
  })

  test(`[${commitOn}] changes held back until a later update brings what they build on are stored with it`, async () => {
    // A lab node applies the relay's updates as they come (upstream.ts, through writeAsRelay); one
    // that overtook its dependency waits in Yjs until a customer's phone sends that dependency.
    const s = await setup()
    const room = await userRoom(s.store, 'r3')
    try {
      const peer = userPeer('r3')
      room.join(peer)
      const phone = new Y.Doc()
      phone.getMap('profile').set('homeFront', 'store-1')
      const dependency = Y.encodeStateAsUpdate(phone)
      const elsewhere = new Y.Doc()
      Y.applyUpdate(elsewhere, dependency)
      elsewhere.getMap('profile').set('homeFront', 'store-2')
      const later = Y.encodeStateAsUpdate(elsewhere, Y.encodeStateVector(phone))
      await room.writeAsRelay((doc) => Y.applyUpdate(doc, later))
      assert.ok(room.doc.store.pendingStructs !== null, 'the later change is held back')
      room.receiveUpdate(peer, dependency)
      await room.whenDurable()
      assert.is(room.doc.getMap('profile').get('homeFront'), 'store-2')
      const reloaded = new Y.Doc()
      for (const row of storedRows(s.file, 'user/r3')) Y.applyUpdate(reloaded, row)
      assert.is(reloaded.getMap('profile').get('homeFront'), 'store-2', 'what the room shows is what a restart finds')
    } finally {
      room.destroy()
      await s.close()
    }
  })

  test(`[${commitOn}] main-thread writes to the same file go on while documents are being committed`, async () => {
    const s = await setup()
    try {
      s.db.exec('CREATE TABLE side_writes (n INTEGER PRIMARY KEY)')
      const insert = s.db.prepare('INSERT INTO side_writes (n) VALUES (?)')
      const done: Promise<void>[] = []
      for (let i = 0; i < 200; i++) {
        done.push(s.store.append(`order/m${i % 7}`, update(`k${i}`, i)))
        insert.run(i) // autocommit: waits for the writer's lock (busy_timeout) instead of failing
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(done)
      assert.is((s.db.prepare('SELECT count(*) AS n FROM side_writes').get() as { n: number }).n, 200)
      let stored = 0
      for (let i = 0; i < 7; i++) stored += storedRows(s.file, `order/m${i}`).length
      assert.is(stored, 200)
    } finally {
      await s.close()
    }
  })
}

// Under load one event-loop turn reads hundreds of frames: on the writer thread a commit must
// neither wait for the turn to end to start, nor to be acknowledged once the thread is done.
const spinUntil = (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000
  while (!check()) if (Date.now() > deadline) assert.unreachable(`${what} within 5 s without the event loop turning`)
}

test('[worker] a turn that gathers many writes commits them before it ends', async () => {
  const { file, store, close } = await openStore('worker')
  try {
    const writes = Array.from({ length: 16 }, (_, i) => store.append('order/turn', update(`k${i}`, i)))
    await Promise.resolve() // the code that made the writes is done; the event loop has not turned
    spinUntil(() => storedRows(file, 'order/turn').length === 16, 'the writes are stored')
    await Promise.all(writes)
  } finally {
    await close()
  }
})

test('[worker] no commit starts while the code that appended is still running', async () => {
  // A lab node stores "not yet passed on" for a document right after its write is appended: a
  // crash must never find the write committed without that mark.
  const { file, store, close } = await openStore('worker')
  try {
    const writes = Array.from({ length: 16 }, (_, i) => store.append('order/caller', update(`k${i}`, i)))
    const until = Date.now() + 300
    while (Date.now() < until) assert.is(storedRows(file, 'order/caller').length, 0, 'committed under the caller')
    await Promise.all(writes)
    assert.is(storedRows(file, 'order/caller').length, 16)
  } finally {
    await close()
  }
})

test('[worker] a commit the thread has finished resolves at the next write, before the event loop turns', async () => {
  const { file, store, close } = await openStore('worker')
  try {
    let firstDone = false
    const first = store.append('order/poll', update('a', 1)).then(() => { firstDone = true })
    await new Promise((resolve) => setImmediate(resolve)) // the store's own turn-end commit has started
    spinUntil(() => storedRows(file, 'order/poll').length === 1, 'the first write is stored')
    const second = store.append('order/poll', update('b', 2))
    for (let i = 0; i < 10 && !firstDone; i++) await Promise.resolve() // microtasks only
    assert.ok(firstDone, 'the first write resolved without waiting for the thread\'s message')
    await Promise.all([first, second])
    assert.is(storedRows(file, 'order/poll').length, 2)
  } finally {
    await close()
  }
})

test('an in-memory database commits on the caller\'s thread, and asking for a writer thread is refused', async () => {
  const db = openDatabase(':memory:', DOC_STORE_MIGRATIONS)
  try {
    const store = new SqliteDocStore(db)
    await store.append('order/mem', update('a', 1))
    assert.is((await store.load('order/mem')).length, 1)
    assert.throws(() => new SqliteDocStore(db, { commitOn: 'worker' }), /in-memory/)
  } finally {
    db.close()
  }
})

test.run()
