// The commit thread behind SqliteDocStore: its own connection to the relay's database, so that a
// commit's fsync (synchronous=FULL) blocks this thread instead of the event loop that serves sockets.
// Plain JavaScript on purpose: a worker thread does not inherit the tsx loader bin/labsync registers.
import Database from 'better-sqlite3'
import { parentPort, workerData } from 'node:worker_threads'
import { batchWriter } from './doc-batch.js'

const db = new Database(workerData.file)
// Other modules write the same file from the main thread: wait for their commits, never fail on them.
db.pragma('busy_timeout = 5000')
// Every batch is fsynced before it is acknowledged, as on the main connection (storage/sqlite/database.ts).
db.pragma('synchronous = FULL')
const mode = db.pragma('journal_mode', { simple: true })
if (mode !== 'wal') throw new Error(`the document writer needs a WAL database, ${workerData.file} is in ${mode} mode`)

const commit = batchWriter(db)

parentPort.on('message', (batch) => {
  try {
    // IMMEDIATE: take the write lock up front (waiting for the main thread's commits), so a
    // commit never fails half-way on a lock it could have waited for.
    commit.immediate(batch)
    // Durable now, and batch.ids (shared memory) filled in: the main thread may read both before
    // it gets round to the message.
    Atomics.store(workerData.committed, 0, batch.id)
    parentPort.postMessage({ id: batch.id, error: null })
  } catch (error) {
    parentPort.postMessage({ id: batch.id, error: String(error?.message ?? error) })
  }
})
parentPort.postMessage({ ready: true })
