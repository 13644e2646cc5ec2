// Acknowledged appends per second through the DocStore append path from one process: the
// PostgreSQL store (group commit, fsync on) beside the SQLite store (writer thread), with 1 and
// with 50 writers each awaiting its append before the next. Standalone, not yet in bench/run.ts:
//   node --import tsx bench/workloads/pg-append.ts [seconds]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { DocStore } from '../../storage/doc-store.ts'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { DOC_STORE_MIGRATIONS, SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { startPostgres } from '../../tests/helpers/postgres.ts'

const SECONDS = Number(process.argv[2] ?? 5)
const UPDATE = new Uint8Array(60).fill(7) // about one small Yjs map change

/** `writers` loops of append-then-await, one document each, for `ms`; acknowledged appends per second. */
async function appendRate(store: DocStore, writers: number, ms: number): Promise<number> {
  let acked = 0
  const until = Date.now() + ms
  const started = Date.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    while (Date.now() < until) {
      await store.append(`doc-${w}`, UPDATE)
      acked++
    }
  }))
  return acked / ((Date.now() - started) / 1000)
}

async function commitsOf(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const { rows } = await client.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')
  await client.end()
  return Number(rows[0].n)
}

async function main(): Promise<void> {
  const server = await startPostgres()
  const dir = mkdtempSync(join(tmpdir(), 'labsync-pg-append-'))
  const rows: string[] = []
  try {
    for (const writers of [1, 50]) {
      const url = await server.createDatabase(`append_${writers}`)
      const pgStore = await PgDocStore.open(url)
      await appendRate(pgStore, writers, 500) // warm-up
      const before = await commitsOf(url)
      const pgRate = await appendRate(pgStore, writers, SECONDS * 1000)
      const transactions = (await commitsOf(url) - before - 1) / SECONDS // less commitsOf's own
      await pgStore.close()

      const db = openDatabase(join(dir, `docs-${writers}.sqlite`), DOC_STORE_MIGRATIONS)
      const sqlite = new SqliteDocStore(db)
      await sqlite.writerThread()
      await appendRate(sqlite, writers, 500)
      const sqliteRate = await appendRate(sqlite, writers, SECONDS * 1000)
      await sqlite.close()
      db.close()
      rows.push(`${String(writers).padStart(7)}  ${pgRate.toFixed(0).padStart(13)}  ${transactions.toFixed(0).padStart(15)}  ${sqliteRate.toFixed(0).padStart(15)}  ${(pgRate / sqliteRate).toFixed(2).padStart(5)}`)
    }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`DocStore appends acknowledged per second, one process, ${SECONDS} s each (fsync on for both)`)
  console.log('writers  PostgreSQL/s  PG commits/s  SQLite/s  PG/SQLite')
  for (const row of rows) console.log(row)
}

await main()
