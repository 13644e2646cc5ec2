// Runs the AuditStore acceptance suite against the PostgreSQL store on a real PostgreSQL 15 started
// for this file: every test in a schema of its own, migrated as a relay in cluster mode opens it.
import { runAuditStoreTests } from './audit-store.ts'
import { sqlSeeder } from './audit-seed.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { PgAuditStore } from '../../storage/postgres/audit-store.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres({ fsync: 'off' })
let schemas = 0

runAuditStoreTests('PostgreSQL', async () => {
  const pool = await openRelayPool(await server.createSchema(`audit_${++schemas}`), 2)
  let n = 0
  const numbered = (sql: string) => sql.replace(/\?/g, () => `$${++n}`)
  return {
    store: await PgAuditStore.open(pool),
    seed: sqlSeeder(async (sql, params) => {
      n = 0
      await pool.query(numbered(sql), params)
    }),
    teardown: () => pool.end(),
  }
}, () => server.stop())
