// Brings a PostgreSQL schema up to date from a store's list of steps, safely when several relays
// open the same database at once: every step runs under one transaction-scoped advisory lock.
import type pg from 'pg'

/**
 * A store's schema as steps; the database records, per store, how many it has run. A released
 * step is never edited, removed or moved: changes are appended (as storage/sqlite/database.ts).
 */
export interface PgMigrations {
  /** The store the steps belong to ('docs', 'images'): one row in labsync_schema. */
  readonly component: string
  readonly steps: readonly string[]
}

/** Advisory lock keys are (class, object) pairs; this class is the schema's, others are stores'. */
export const LOCK_CLASS = { schema: 0x5c4e, doc: 0x0d0c } as const

/**
 * Runs the steps `component` has not run yet, in one transaction. The lock is taken before the
 * version table is even created: two processes opening a new database do not race on it, and a
 * second one that waited sees the steps the first ran. Transaction-scoped (pg_advisory_xact_lock),
 * so a pooler in front cannot leave it held on a connection it hands to someone else.
 */
export async function migrate(pool: pg.Pool, migrations: PgMigrations): Promise<number> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS.schema])
    await client.query(`CREATE TABLE IF NOT EXISTS labsync_schema (
      component text PRIMARY KEY,
      version   integer NOT NULL
    )`)
    const found = await client.query<{ version: number }>('SELECT version FROM labsync_schema WHERE component = $1', [migrations.component])
    const version = found.rows[0]?.version ?? 0
    if (version > migrations.steps.length) {
      throw new SchemaTooNew(`the database's ${migrations.component} schema is at step ${version}, this program knows ${migrations.steps.length}`)
    }
    for (const step of migrations.steps.slice(version)) await client.query(step)
    await client.query(
      `INSERT INTO labsync_schema (component, version) VALUES ($1, $2)
       ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version`,
      [migrations.component, migrations.steps.length])
    await client.query('COMMIT')
    return migrations.steps.length - version
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

/** A newer program has migrated this database: running an older one against it is refused. */
export class SchemaTooNew extends Error {}
