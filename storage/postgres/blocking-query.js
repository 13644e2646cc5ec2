// The thread behind BlockingQuery (blocking-query.ts): its own PostgreSQL connection, answering one
// statement at a time while the caller's thread waits on a shared flag.
// Plain JavaScript on purpose: a worker thread does not inherit the tsx loader bin/labsync registers.
import pg from 'pg'
import { parentPort, workerData } from 'node:worker_threads'

const { connectionString, flag, port } = workerData
const client = new pg.Client({ connectionString })
// An error on the idle connection (the server went away) fails the next statement, not the thread.
client.on('error', () => {})
const connected = client.connect()
connected.then(() => parentPort.postMessage({ ready: true }), (error) => parentPort.postMessage({ ready: false, error: String(error?.message ?? error) }))

port.on('message', async ({ id, sql, params }) => {
  let reply
  try {
    await connected
    reply = { id, rows: (await client.query(sql, params)).rows }
  } catch (error) {
    reply = { id, error: String(error?.message ?? error), code: error?.code ?? null }
  }
  port.postMessage(reply)
  // The answer is on the port before the flag says so: the waiting thread reads it right away.
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
})
