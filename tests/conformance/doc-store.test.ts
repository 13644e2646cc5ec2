// Runs the DocStore acceptance suite against every implementation: the memory reference and
// SQLite on a real file, committing on its writer thread and on the caller's. A second instance
// is a second connection (its own store) on the same file; reopening is a new connection.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDocStoreTests } from './doc-store.ts'
import type { DocStore } from '../../storage/doc-store.ts'
import { MemoryDocStorage, MemoryDocStore } from '../../storage/memory/doc-store.ts'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { DOC_STORE_MIGRATIONS, SqliteDocStore } from '../../storage/sqlite/doc-store.ts'

runDocStoreTests('memory', async () => {
  const storage = new MemoryDocStorage()
  return {
    open: async () => new MemoryDocStore(storage),
    close: async () => {},
    teardown: async () => {},
  }
})

for (const commitOn of ['worker', 'caller'] as const) {
  runDocStoreTests(`SQLite, committing on the ${commitOn === 'worker' ? 'writer thread' : 'caller\'s thread'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labsync-docstore-'))
    const file = join(dir, 'docs.sqlite')
    const open = new Map<DocStore, DB>()
    return {
      async open() {
        const db = openDatabase(file, DOC_STORE_MIGRATIONS)
        const store = new SqliteDocStore(db, { commitOn })
        await store.writerThread()
        open.set(store, db)
        return store
      },
      async close(store) {
        await (store as SqliteDocStore).close()
        open.get(store)!.close()
        open.delete(store)
      },
      async teardown() {
        rmSync(dir, { recursive: true, force: true })
      },
    }
  })
}
