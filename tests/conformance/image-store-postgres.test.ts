// Runs the ImageStore acceptance suite against the PostgreSQL store on a real PostgreSQL 15
// started for this file: every test in a schema of its own, with a temporary directory for the
// relay's files; a restart is a new store (new connections) on the same schema and directory.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runImageStoreTests } from './image-store.ts'
import { PgImageStore } from '../../storage/postgres/image-store.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres()
let schemas = 0

runImageStoreTests('PostgreSQL', async () => {
  const url = await server.createSchema(`images_${++schemas}`)
  const dir = mkdtempSync(join(tmpdir(), 'labsync-pgimages-'))
  const stores: PgImageStore[] = []
  return {
    async open(now) {
      const store = await PgImageStore.open(url, dir, { now })
      stores.push(store)
      return store
    },
    async teardown() {
      for (const store of stores) await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}, () => server.stop())
