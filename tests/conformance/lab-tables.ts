// The storage the lab-facing stores' suites run on (history, lab keys, presence): a SQLite file or a
// PostgreSQL schema, opened as often as a test likes (a restarted relay, or in PostgreSQL another
// relay), with raw reads of the rows and a seeded reception, so tests observe what is stored.
import { join } from 'node:path'
import { suite } from 'uvu'
import type pg from 'pg'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { openRelayPool } from '../../storage/postgres/relay-schema.ts'
import { History, type HistoryStore } from '../../relay/store/history.ts'
import { PgHistory } from '../../relay/store/history-postgres.ts'
import { SqliteLabKeyRows, type LabKeyRows } from '../../relay/store/lab-keys.ts'
import { PgLabKeyRows } from '../../relay/store/lab-keys-postgres.ts'
import { SqlitePresenceRows, type PresenceRows } from '../../relay/store/lab-presence.ts'
import { PgPresenceRows } from '../../relay/store/lab-presence-postgres.ts'
import type { PostgresServer } from '../helpers/postgres.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

/** A history row as stored, in the columns both dialects share (reprint as a boolean). */
export interface StoredHistory {
  id: string; lab: string; order_id: string; item: number; printer: string; job: string; copies: number; status: string
  printed_at: number; received_at: number; user_id: string | null; front: string | null; reprint: boolean; reason: string | null
}

/** A lab_presence row as stored, printers parsed (PostgreSQL's jsonb keeps no key order, so no text is compared). */
export interface StoredPresence { last_seen: number; interval_ms: number; printers: unknown }

/** One connection to the storage: the stores' row backends, as a relay opens them. */
export interface LabTablesConnection {
  history: HistoryStore
  labKeyRows: LabKeyRows
  presenceRows: PresenceRows
  /** An accepted reception of `order` by `user` at `front`, for `lab` (as intake records one). */
  reception(order: string, user: string, front: string, lab: string): Promise<void>
  historyRows(): Promise<StoredHistory[]>
  presenceRow(lab: string): Promise<StoredPresence | undefined>
  /** Closes this connection only (the relay stopping); the storage stays. */
  close(): Promise<void>
}

export interface LabTables {
  open(): Promise<LabTablesConnection>
  teardown(): Promise<void>
}

/** A test of a lab suite: `open` gives connections to fresh storage, torn down after the test. */
export type LabTest = (title: string, body: (open: () => Promise<LabTablesConnection>) => Promise<void>) => void

/** A uvu suite whose tests each get fresh storage from `setup`; `after` runs once it is done (a server stopped). */
export function labSuite(title: string, setup: () => LabTables, after?: () => Promise<void>): { it: LabTest; run: () => void } {
  const test = suite(title)
  if (after) test.after(after)
  const it: LabTest = (name, body) => test(name, async () => {
    const tables = setup()
    try {
      await body(() => tables.open())
    } finally {
      await tables.teardown()
    }
  })
  return { it, run: () => test.run() }
}

const HISTORY_COLUMNS = 'id, lab, order_id, item, printer, job, copies, status, printed_at, received_at, user_id, front, reprint, reason'

/** A relay.sqlite in a temporary directory; each open() a new connection to the file. */
export function sqliteLabTables(): LabTables {
  const dir = tempDir('labsync-labtables-')
  const dbs: DB[] = []
  return {
    async open() {
      const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
      dbs.push(db)
      return {
        history: new History(db),
        labKeyRows: new SqliteLabKeyRows(db),
        presenceRows: new SqlitePresenceRows(db),
        async reception(order, user, front, lab) {
          db.prepare(`INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, lines, total, currency)
            VALUES (?, ?, ?, ?, 0, 'accepted', '[]', 0, 'JPY')`).run(order, user, front, lab)
        },
        async historyRows() {
          const rows = db.prepare(`SELECT ${HISTORY_COLUMNS} FROM history ORDER BY id`).all() as Array<Omit<StoredHistory, 'reprint'> & { reprint: number }>
          return rows.map((row) => ({ ...row, reprint: row.reprint === 1 }))
        },
        async presenceRow(lab) {
          const row = db.prepare('SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = ?').get(lab) as { last_seen: number; interval_ms: number; printers: string } | undefined
          return row && { ...row, printers: JSON.parse(row.printers) }
        },
        async close() { if (db.open) db.close() },
      }
    },
    async teardown() {
      for (const db of dbs) if (db.open) db.close()
      removeDir(dir)
    },
  }
}

/** A fresh schema on `server`; each open() a new pool on it, as another relay would open. */
export function pgLabTables(server: PostgresServer, name: string): LabTables {
  const pools: pg.Pool[] = []
  let url: Promise<string> | null = null
  return {
    async open() {
      const pool = await openRelayPool(await (url ??= server.createSchema(name)))
      pools.push(pool)
      return {
        history: new PgHistory(pool),
        labKeyRows: new PgLabKeyRows(pool),
        presenceRows: new PgPresenceRows(pool),
        async reception(order, user, front, lab) {
          await pool.query(`INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, lines, total, currency)
            VALUES ($1, $2, $3, $4, 0, 'accepted', '[]', 0, 'JPY')`, [order, user, front, lab])
        },
        async historyRows() {
          return (await pool.query<StoredHistory>(`SELECT ${HISTORY_COLUMNS} FROM history ORDER BY id COLLATE "C"`)).rows
        },
        async presenceRow(lab) {
          const { rows } = await pool.query<StoredPresence>('SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = $1', [lab])
          return rows[0]
        },
        async close() {
          const index = pools.indexOf(pool)
          if (index >= 0) pools.splice(index, 1)
          await pool.end()
        },
      }
    },
    async teardown() {
      for (const pool of pools.splice(0)) await pool.end()
    },
  }
}
