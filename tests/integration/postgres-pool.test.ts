// storage/postgres/pool.ts on a real PostgreSQL: a connection that a store holds between two
// statements (checked out, no query running) and that PostgreSQL terminates does not crash the
// process with an unhandled 'error'; its next query fails, and the pool serves the next caller
// on a new connection. With a bare pg.Pool this file dies ("Emitted 'error' event on Client").
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import { openPool } from '../../storage/postgres/pool.ts'
import { startPostgresRetrying } from '../helpers/cluster.ts'
import type { PostgresServer } from '../helpers/postgres.ts'

let server: PostgresServer | null = null
test.after(async () => { await server?.stop() })

test('a held connection terminated by PostgreSQL fails its next query, and the process lives on', async () => {
  server = await startPostgresRetrying()
  const pool = openPool({ connectionString: server.url(), max: 2 })
  const admin = new pg.Client({ connectionString: server.url() })
  await admin.connect()
  try {
    const held = await pool.connect()
    const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    const ended = new Promise((resolve) => held.once('end', resolve))
    // As `SELECT pg_terminate_backend` and a fast shutdown do: FATAL 57P01 to an idle, held connection.
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
    await ended
    const failed = await held.query('SELECT 1').then(() => null, (error: Error) => error)
    assert.ok(failed instanceof Error, 'a query on the terminated connection fails')
    held.release(failed)
    const again = await pool.query<{ one: number }>('SELECT 1 AS one')
    assert.is(again.rows[0]!.one, 1, 'the pool serves on a new connection')
  } finally {
    await admin.end()
    await pool.end()
  }
})

test.run()
