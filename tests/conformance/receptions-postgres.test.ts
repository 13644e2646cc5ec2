// Runs the ReceptionStore acceptance suite on a real PostgreSQL 15 started for this file: every
// test in a schema of its own, a second instance a second pool on it (a second relay).
import type pg from 'pg'
import { runReceptionStoreTests } from './receptions.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { PgReceptionStore } from '../../relay/store/receptions-postgres.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runReceptionStoreTests('PostgreSQL', async () => {
  const url = await server.createSchema(`receptions_${++schemas}`)
  const pools: pg.Pool[] = []
  return {
    async open() {
      const pool = await openRelayPool(url)
      pools.push(pool)
      return PgReceptionStore.open(pool)
    },
    async teardown() {
      for (const pool of pools) await pool.end()
    },
  }
}, () => server.stop())
