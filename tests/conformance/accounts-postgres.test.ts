// Runs the AccountStore acceptance suite against the PostgreSQL store on a real PostgreSQL 15
// started for this file: every test in a schema of its own, each instance a pool of its own on it.
import type pg from 'pg'
import { runAccountStoreTests } from './accounts.ts'
import { PgAccountStore } from '../../storage/postgres/accounts.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runAccountStoreTests('PostgreSQL', async () => {
  const url = await server.createSchema(`accounts_${++schemas}`)
  const pools: pg.Pool[] = []
  return {
    async open() {
      const pool = await openRelayPool(url)
      pools.push(pool)
      return new PgAccountStore(pool)
    },
    async teardown() {
      for (const pool of pools) await pool.end()
    },
  }
}, () => server.stop())
