// Acknowledged appends per second through the DocStore append path from one process: the
// PostgreSQL store (group commit, fsync on) beside the SQLite store (writer thread), with 1 and
// with 50 writers each awaiting its append before the next. Optional in bench/run.ts (`--only pg`,
// needs PostgreSQL 15 installed), or standalone: node --import tsx bench/workloads/pg-append.ts [seconds]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { currentPlacement } from '../lib/proc.ts'
import { pinRunning } from '../lib/placement.ts'
import { round } from '../lib/stats.ts'
import type { Metrics, Result } from '../lib/report.ts'
import type { Context } from './context.ts'
import type { DocStore } from '../../storage/doc-store.ts'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { DOC_STORE_MIGRATIONS, SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { startPostgres } from '../../tests/helpers/postgres.ts'

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

/** Appends/s for PostgreSQL and SQLite with 1 and 50 writers, and PostgreSQL's commits/s. */
async function measure(seconds: number, log: (message: string) => void): Promise<Record<string, Metrics>> {
  const server = await startPostgres()
  // PostgreSQL on the servers' CPU (its backends, forked later, inherit it); the stores' callers
  // and SQLite's writer thread run in this process, on the load CPU.
  const { server: cpus } = currentPlacement()
  if (cpus !== null) pinRunning(server.pid, cpus)
  const dir = mkdtempSync(join(tmpdir(), 'labsync-pg-append-'))
  const systems: Record<string, Metrics> = { postgres: {}, sqlite: {} }
  try {
    for (const writers of [1, 50]) {
      const url = await server.createDatabase(`append_${writers}`)
      const pgStore = await PgDocStore.open(url)
      await appendRate(pgStore, writers, 500) // warm-up
      const before = await commitsOf(url)
      systems.postgres[`appendsPerSec@${writers}`] = await appendRate(pgStore, writers, seconds * 1000)
      systems.postgres[`commitsPerSec@${writers}`] = (await commitsOf(url) - before - 1) / seconds // less commitsOf's own
      await pgStore.close()

      const db = openDatabase(join(dir, `docs-${writers}.sqlite`), DOC_STORE_MIGRATIONS)
      const sqlite = new SqliteDocStore(db)
      await sqlite.writerThread()
      await appendRate(sqlite, writers, 500)
      systems.sqlite[`appendsPerSec@${writers}`] = await appendRate(sqlite, writers, seconds * 1000)
      await sqlite.close()
      db.close()
      log(`pg: ${writers} writer(s): PostgreSQL ${Math.round(systems.postgres[`appendsPerSec@${writers}`])}/s, SQLite ${Math.round(systems.sqlite[`appendsPerSec@${writers}`])}/s`)
    }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  return systems
}

/** The bench workload `pg`: not among the defaults, since it needs a local PostgreSQL. */
export async function pgAppend(ctx: Context): Promise<Result> {
  const systems = await measure(ctx.quick ? 3 : 5, ctx.log)
  const ratio: Metrics = {}
  for (const key of ['appendsPerSec@1', 'appendsPerSec@50']) ratio[key] = round(systems.postgres[key] / systems.sqlite[key])
  return { workload: 'pg', systems, ratios: { 'postgres/sqlite': ratio } }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5)
  const systems = await measure(seconds, () => undefined)
  console.log(`DocStore appends acknowledged per second, one process, ${seconds} s each (fsync on for both)`)
  console.log('writers  PostgreSQL/s  PG commits/s  SQLite/s  PG/SQLite')
  for (const writers of [1, 50]) {
    const [p, c, q] = [systems.postgres[`appendsPerSec@${writers}`], systems.postgres[`commitsPerSec@${writers}`], systems.sqlite[`appendsPerSec@${writers}`]]
    console.log(`${String(writers).padStart(7)}  ${p.toFixed(0).padStart(12)}  ${c.toFixed(0).padStart(12)}  ${q.toFixed(0).padStart(8)}  ${(p / q).toFixed(2).padStart(9)}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
