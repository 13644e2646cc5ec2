// Runs the ImageStore acceptance suite against every implementation: SQLite rows with files by
// hash in a temporary data directory, and the memory reference with its files in one. A restart
// is a new store (a new connection, for SQLite) on the same storage.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runImageStoreTests } from './image-store.ts'
import { MemoryImageStorage, MemoryImageStore } from '../../storage/memory/image-store.ts'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { IMAGE_STORE_MIGRATIONS, SqliteImageStore } from '../../storage/sqlite/image-store.ts'

const scratch = () => mkdtempSync(join(tmpdir(), 'labsync-imagestore-'))

runImageStoreTests('memory', async () => {
  const dir = scratch()
  const storage = new MemoryImageStorage()
  return {
    open: (now) => new MemoryImageStore(join(dir, 'images'), storage, now),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  }
})

runImageStoreTests('SQLite', async () => {
  const dir = scratch()
  const dbs: DB[] = []
  return {
    open(now) {
      const db = openDatabase(join(dir, 'images.sqlite'), IMAGE_STORE_MIGRATIONS)
      dbs.push(db)
      return new SqliteImageStore(db, dir, now)
    },
    async teardown() {
      for (const db of dbs) db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
