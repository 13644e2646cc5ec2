// Runs the DocStore acceptance suite against the PostgreSQL store on a real PostgreSQL 15 started
// for this file: every test in a schema of its own, a second instance a second pool on it.
import { runDocStoreTests } from './doc-store.ts'
import type { DocStore } from '../../storage/doc-store.ts'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { startPostgres } from '../helpers/postgres.ts'

const server = await startPostgres()
let databases = 0

runDocStoreTests('PostgreSQL', async () => {
  const url = await server.createSchema(`docs_${++databases}`)
  const open = new Set<PgDocStore>()
  return {
    async open() {
      const store = await PgDocStore.open(url)
      open.add(store)
      return store
    },
    async close(store: DocStore) {
      open.delete(store as PgDocStore)
      await (store as PgDocStore).close()
    },
    async teardown() {},
  }
}, () => server.stop())
