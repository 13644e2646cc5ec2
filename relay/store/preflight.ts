// Start-up checks on the relay's data dir, before anything opens the database for writing:
// - a missing or empty relay.sqlite beside a signing key or stored photos is a lost database,
//   not a first start: refused unless the operator says --fresh (SQLite would otherwise make a
//   new empty file and the relay would serve on, without a word, with every order forgotten);
// - a file that is not a SQLite database, or that PRAGMA quick_check finds damaged, is refused.
// quick_check reads every page (measured: 0.6 s for 1M receptions, 408 MiB; 2.5 to 5 s for 1M
// documents and 1M receptions, 1.4 GiB, from the page cache; far longer from a cold disk), so it
// runs only when the last run did not end cleanly or the file changed since: a clean shutdown
// leaves a marker naming the file's size, mtime and inode. (Decay of a file nobody wrote is not
// seen at start then; the marker check costs about a millisecond.)
import Database from 'better-sqlite3'
import { closeSync, fsyncSync, openSync, opendirSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, type BigIntStats } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../shared/errors.ts'
import { SIGNING_KEY_FILE } from '../../storage/key-file.ts'

export const DB_FILE = 'relay.sqlite'
/** Written at a clean shutdown, removed at start: its absence means the last run may have crashed. */
export const CLEAN_MARKER = 'relay-clean-shutdown.json'

const SQLITE_HEADER = 'SQLite format 3\u0000'
/** quick_check stops after this many problems: the first few say enough. */
const MAX_PROBLEMS = 5

export interface PreflightResult {
  /** What the relay starts on, for its log. */
  state: 'first start' | 'fresh' | 'existing'
  /** Milliseconds quick_check took, or null when the last shutdown was clean and the file unchanged. */
  checkMs: number | null
  /** One line for the relay's log, or null. */
  note: string | null
}

/** Throws ConfigError (exit 2, one line) when the relay must not start on this data dir. */
export function preflight(dataDir: string, options: { fresh: boolean }): PreflightResult {
  const file = join(dataDir, DB_FILE)
  const size = fileSize(file)
  if (size === null || size === 0) {
    const result = lostOrFirst(dataDir, file, size === null ? 'is missing' : 'is empty (0 bytes)', options.fresh)
    if (result.state === 'fresh') setAsideLog(file)
    return result
  }
  if (!hasSqliteHeader(file)) {
    throw new ConfigError(`${file} is not a SQLite database (its first bytes are not the SQLite header: overwritten, zero-filled or another file); restore it from a backup, or move it away and start with --fresh to begin with an empty database`)
  }
  const clean = cleanSinceLastRun(dataDir, file)
  let db: Database.Database
  try {
    // Read-only: a damaged or foreign file is looked at, never changed (and never created).
    db = new Database(file, { readonly: true, fileMustExist: true })
  } catch (error) {
    throw damaged(file, (error as Error).message)
  }
  try {
    let checkMs: number | null = null
    if (!clean) {
      const started = performance.now()
      const problems = quickCheck(db, file)
      checkMs = Math.round(performance.now() - started)
      if (problems.length) throw damaged(file, problems.join('; '))
    }
    if (holdsNothing(db, file)) return lostOrFirst(dataDir, file, 'holds no documents or receptions', options.fresh, checkMs)
    const note = checkMs === null ? null : `relay: ${DB_FILE} checked (PRAGMA quick_check: ok, ${checkMs} ms; the last run did not end cleanly or the file changed since)`
    return { state: 'existing', checkMs, note }
  } finally {
    db.close()
  }
}

/**
 * A missing or empty database: a first start when nothing in the data dir says a relay ran here,
 * otherwise a lost database, started over only when the operator asked for it.
 */
function lostOrFirst(dataDir: string, file: string, what: string, fresh: boolean, checkMs: number | null = null): PreflightResult {
  const traces = tracesOfUse(dataDir)
  if (traces.length === 0) return { state: 'first start', checkMs, note: null }
  if (!fresh) {
    throw new ConfigError(`${file} ${what}, but ${dataDir} was used by a relay before (${traces.join(', ')}): restore the database from a backup, or start with --fresh to begin with an empty one (--fresh restores nothing: accounts, orders and receipts stay lost)`)
  }
  return { state: 'fresh', checkMs, note: `relay: --fresh: starting with an empty database although ${dataDir} holds ${traces.join(', ')}; nothing is restored` }
}

/** What a relay leaves beside its database: the signing key, stored photos, a clean-shutdown marker. */
function tracesOfUse(dataDir: string): string[] {
  const traces: string[] = []
  if (fileSize(join(dataDir, SIGNING_KEY_FILE)) !== null) traces.push(SIGNING_KEY_FILE)
  if (holdsPhotos(join(dataDir, 'images'))) traces.push('stored photos in images/')
  if (fileSize(join(dataDir, CLEAN_MARKER)) !== null) traces.push(CLEAN_MARKER)
  if ((fileSize(join(dataDir, `${DB_FILE}-wal`)) ?? 0) > 0) traces.push(`${DB_FILE}-wal`)
  return traces
}

/**
 * The write-ahead log of a database that is gone would be replayed into the new empty one (SQLite
 * does not tie the log to its file): kept under another name, never replayed, never deleted.
 */
function setAsideLog(file: string): void {
  const log = `${file}-wal`
  if (fileSize(log) !== null) renameSync(log, `${log}.before-fresh-${Date.now()}`)
  rmSync(`${file}-shm`, { force: true }) // an index of that log, rebuilt from the log when needed
}

/** Photos live in images/<2 hex>/<sha256>; one file in any of at most 256 folders is enough. */
function holdsPhotos(imagesDir: string): boolean {
  let names: string[]
  try {
    names = readdirSync(imagesDir)
  } catch {
    return false
  }
  for (const name of names) {
    if (!/^[0-9a-f]{2}$/.test(name)) continue // .incoming holds unfinished uploads only
    try {
      const dir = opendirSync(join(imagesDir, name))
      try {
        if (dir.readSync() !== null) return true // one entry, without listing a large folder
      } finally {
        dir.closeSync()
      }
    } catch { /* not a folder */ }
  }
  return false
}

function fileSize(file: string): number | null {
  try {
    return statSync(file).size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

function hasSqliteHeader(file: string): boolean {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (error) {
    throw new ConfigError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length)
    const read = readSync(fd, header, 0, header.length, 0)
    return read === header.length && header.toString('latin1') === SQLITE_HEADER
  } catch (error) {
    throw new ConfigError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  } finally {
    closeSync(fd)
  }
}

/** PRAGMA quick_check's problems (none when it says "ok"); an error reading the file is one too. */
function quickCheck(db: Database.Database, file: string): string[] {
  let rows: Array<{ quick_check: string }>
  try {
    rows = db.pragma(`quick_check(${MAX_PROBLEMS})`) as Array<{ quick_check: string }>
  } catch (error) {
    throw damaged(file, (error as Error).message)
  }
  if (rows.length === 1 && rows[0].quick_check === 'ok') return []
  return rows.map((row) => oneLine(row.quick_check))
}

/** No tables at all, or neither a stored document (the catalog is stored at every start) nor a reception. */
function holdsNothing(db: Database.Database, file: string): boolean {
  try {
    const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t) => t.name))
    const any = (table: string) => tables.has(table) && db.prepare(`SELECT 1 FROM "${table}" LIMIT 1`).get() !== undefined
    return !any('doc_updates') && !any('receptions')
  } catch (error) {
    throw damaged(file, (error as Error).message)
  }
}

function damaged(file: string, problem: string): ConfigError {
  return new ConfigError(`${file} is damaged (${oneLine(problem)}); the relay does not start on it: restore it from a backup, or salvage what is left with \`sqlite3 ${file} .recover | sqlite3 recovered.sqlite\` and put that in its place (stop the relay first)`)
}

const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim()

// ---------------------------------------------------------------- clean shutdown marker

interface Identity { size: string; mtimeNs: string; ino: string }

const identity = (stats: BigIntStats): Identity => ({ size: String(stats.size), mtimeNs: String(stats.mtimeNs), ino: String(stats.ino) })

/**
 * Whether the last run ended cleanly and nothing touched the file since: the marker is there, it
 * names the file as it is now, and no write-ahead log is waiting to be replayed.
 */
function cleanSinceLastRun(dataDir: string, file: string): boolean {
  let marker: Identity
  try {
    marker = JSON.parse(readFileUtf8(join(dataDir, CLEAN_MARKER))) as Identity
  } catch {
    return false
  }
  const now = identity(statSync(file, { bigint: true }))
  if (now.size !== marker.size || now.mtimeNs !== marker.mtimeNs || now.ino !== marker.ino) return false
  return !((fileSize(`${file}-wal`) ?? 0) > 0)
}

function readFileUtf8(file: string): string {
  const fd = openSync(file, 'r')
  try {
    const buffer = Buffer.alloc(1024)
    const read = readSync(fd, buffer, 0, buffer.length, 0)
    return buffer.subarray(0, read).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** Called once the checks passed, before the database is opened for writing: from now on a crash must be noticed. */
export function clearCleanMarker(dataDir: string): void {
  const marker = join(dataDir, CLEAN_MARKER)
  if (fileSize(marker) === null) return // also when the data dir is yet to be made
  rmSync(marker)
  syncDir(dataDir)
}

/** Called after the relay closed its database at a clean shutdown. */
export function writeCleanMarker(dataDir: string): void {
  const file = join(dataDir, DB_FILE)
  let stats: BigIntStats
  try {
    stats = statSync(file, { bigint: true })
  } catch {
    return // nothing to vouch for
  }
  const marker = join(dataDir, CLEAN_MARKER)
  const temporary = `${marker}.tmp`
  writeFileSync(temporary, JSON.stringify(identity(stats)) + '\n')
  const fd = openSync(temporary, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
  renameSync(temporary, marker)
  syncDir(dataDir)
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}
