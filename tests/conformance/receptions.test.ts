// Runs the ReceptionStore acceptance suite on SQLite: a real file, a second instance a second
// connection to it (one relay is the only writer in practice; the suite holds it to the same rules).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runReceptionStoreTests } from './receptions.ts'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { SqliteReceptionStore } from '../../relay/store/receptions-sqlite.ts'

runReceptionStoreTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labsync-receptions-'))
  const dbs: DB[] = []
  return {
    async open() {
      const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
      dbs.push(db)
      return new SqliteReceptionStore(db)
    },
    async teardown() {
      for (const db of dbs) db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
