// Runs the AccountStore acceptance suite against the SQLite store: one relay file in a temporary
// directory, each further instance a connection of its own on it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAccountStoreTests } from './accounts.ts'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { SqliteAccountStore } from '../../relay/store/sqlite-accounts.ts'

runAccountStoreTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labsync-accounts-'))
  const dbs: DB[] = []
  return {
    async open() {
      const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
      dbs.push(db)
      return new SqliteAccountStore(db)
    },
    async teardown() {
      for (const db of dbs) db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
