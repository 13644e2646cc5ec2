// Runs the AuditStore acceptance suite against the SQLite store on a real relay database file,
// its schema made by the relay's own migration list.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAuditStoreTests } from './audit-store.ts'
import { sqlSeeder } from './audit-seed.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { SqliteAuditStore } from '../../storage/sqlite/audit-store.ts'

runAuditStoreTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labsync-audit-'))
  const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
  return {
    store: new SqliteAuditStore(db),
    seed: sqlSeeder(async (sql, params) => void db.prepare(sql).run(...params)),
    async teardown() {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
