// Opens a SQLite database file (WAL, fsync on commit) and brings its schema up to date from the
// migration list its owner gives: the relay's (relay/store/migrations.ts), the lab node's in-store
// one (lab-node/lan/state.ts), a store's own (tests, tools). Knows no table itself.
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type DB = Database.Database

/**
 * A database's schema as steps, each run in one transaction; PRAGMA user_version counts the steps
 * a file has run. A released step is never edited, removed or moved: changes are appended.
 * Stores declare their tables (DOC_TABLES, IMAGE_TABLES) for the lists that hold them.
 */
export type Migrations = readonly string[]

/** Opens (creating) a database file and brings it to the last step of its owner's migration list. */
export function openDatabase(file: string, migrations: Migrations): DB {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  // FULL: a commit is fsynced before it returns, so what the relay acknowledges survives power
  // loss, not only a killed process. Commits are batched per event-loop turn to pay for it.
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db, migrations)
  return db
}

/** One step per transaction, each re-reading the version under the write lock: two processes
 * opening one new file at once do not both run a step. */
function migrate(db: DB, migrations: Migrations): void {
  const step = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version >= migrations.length) return false
    db.exec(migrations[version])
    db.pragma(`user_version = ${version + 1}`)
    return true
  })
  while (step.immediate()) { /* next step */ }
}
