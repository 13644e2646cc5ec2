// A real PostgreSQL 15 for one test file: a copy of a data directory initdb made once (kept in the
// temp folder), the server as this process's child on a free loopback port, stopped when the test
// ends or exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './ippeveprinter.ts'
import { isAlive } from './pids.ts'

const BIN = '/usr/lib/postgresql/15/bin'

export interface PostgresServer {
  readonly port: number
  /** A connection string for `database` on this server. */
  url(database?: string): string
  /** Creates a fresh, empty database and returns its connection string. */
  createDatabase(name: string): Promise<string>
  /**
   * Creates an empty schema in the default database and returns a connection string whose
   * sessions use it: a fresh storage per test, at a tenth of a database's cost.
   */
  createSchema(name: string): Promise<string>
  /** Fast shutdown (SIGINT), SIGKILL if it is not down within `graceMs`; removes the directory. */
  stop(graceMs?: number): Promise<void>
  /** The postmaster's pid, for tests that kill it themselves. */
  readonly pid: number
  /** Calls `listener` with each chunk the server writes to its log (stderr) from now on. */
  onLog(listener: (chunk: string) => void): void
}

export class PostgresUnavailable extends Error {}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const uid = id('-u'), gid = id('-g')
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) throw new PostgresUnavailable('no postgres user: is postgresql-15 installed?')
  return { uid, gid }
}

/**
 * Starts a server. `settings` are passed as `-c name=value` (e.g. `{ fsync: 'off' }` for a test
 * that measures nothing). The server is this process's child, in its process group, so the test
 * runner's kill of a hung file's group takes it too; its own children call setsid() but leave
 * when they see the postmaster gone.
 */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PostgresServer> {
  const { uid, gid } = postgresUser()
  removeAbandoned()
  const dir = mkdtempSync(join(tmpdir(), PREFIX))
  writeFileSync(join(dir, OWNER_FILE), String(process.pid)) // before anything another run's removeAbandoned() could misread
  chownSync(dir, uid, gid)
  const data = join(dir, 'pg')
  try {
    copyCluster(templateCluster(uid, gid), data)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const port = await freePort()
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`)
  // Spawned with the postgres user's ids rather than through runuser: the child is the
  // postmaster itself, so our signals reach it without an intermediary forwarding them.
  const child = spawn(`${BIN}/postgres`, args, { uid, gid, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir })
  const killOnExit = () => {
    try { child.kill('SIGKILL') } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
  process.on('exit', killOnExit)
  try {
    await ready(child)
  } catch (error) {
    child.kill('SIGKILL')
    process.off('exit', killOnExit)
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`
  return {
    port,
    pid: child.pid!,
    url,
    onLog(listener) {
      child.stderr!.on('data', listener)
    },
    async createDatabase(name) {
      await asAdmin(url(), `CREATE DATABASE ${pg.escapeIdentifier(name)}`)
      return url(name)
    },
    async createSchema(name) {
      await asAdmin(url(), `CREATE SCHEMA ${pg.escapeIdentifier(name)}`)
      return `${url()}?options=${encodeURIComponent(`-c search_path=${name}`)}`
    },
    async stop(graceMs = 5000) {
      await stopChild(child, graceMs)
      process.off('exit', killOnExit)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const INITDB_ARGS = ['-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']
/** Not under PREFIX: removeAbandoned() would take it for a dead server's directory. */
const TEMPLATE_PREFIX = 'labsync-pgtemplate-'

/**
 * A data directory fresh from initdb, made once and kept in the temp folder: each server starts on
 * a copy of it (0.1 s) instead of running initdb (about 1 s of CPU, several seconds on a loaded
 * machine). Named by initdb's version and arguments; made aside and renamed, so that files
 * starting together never see half of one.
 */
function templateCluster(uid: number, gid: number): string {
  const version = spawnSync(`${BIN}/initdb`, ['--version'], { encoding: 'utf8' }).stdout.trim()
  const key = createHash('sha256').update(`${version}\0${INITDB_ARGS.join(' ')}`).digest('hex').slice(0, 12)
  const template = join(tmpdir(), `${TEMPLATE_PREFIX}${key}`)
  if (existsSync(join(template, 'pg', 'PG_VERSION'))) return join(template, 'pg')
  const making = mkdtempSync(`${template}.making-`)
  chownSync(making, uid, gid)
  const init = spawnSync(`${BIN}/initdb`, ['-D', join(making, 'pg'), ...INITDB_ARGS], { uid, gid, encoding: 'utf8' })
  if (init.status !== 0) {
    rmSync(making, { recursive: true, force: true })
    throw new PostgresUnavailable(`initdb failed (${init.status}): ${init.stderr}`)
  }
  try {
    renameSync(making, template)
  } catch {
    rmSync(making, { recursive: true, force: true }) // another file made it first
  }
  return join(template, 'pg')
}

/** A copy with owner and modes kept (the server refuses a data directory others can read). */
function copyCluster(template: string, data: string): void {
  const copy = spawnSync('cp', ['-a', template, data], { encoding: 'utf8' })
  if (copy.status !== 0) throw new PostgresUnavailable(`copying the initdb template failed (${copy.status}): ${copy.stderr}`)
}

/** One statement on its own connection (CREATE DATABASE cannot run in a pool's transaction). */
export async function asAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

const PREFIX = 'labsync-pg-'
/** The test process that made a server's directory: its pid, written first. */
const OWNER_FILE = 'owner.pid'

/**
 * Directories of servers whose test process was SIGKILLed (the runner's timeout): nothing could
 * remove them then. A directory is abandoned when the postmaster it names is gone, or when it
 * names none and is over ten minutes old (an initdb that never finished).
 */
function removeAbandoned(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue
    const dir = join(tmpdir(), name)
    // Another test process's server, or one it is still creating (initdb's own bootstrap backend
    // writes a postmaster.pid and exits again): left alone while the process that made it lives.
    if (isAlive(pidIn(join(dir, OWNER_FILE))) || isAlive(pidIn(join(dir, 'pg', 'postmaster.pid')))) continue
    // A directory without an owner file: made by an older helper, or between mkdtemp and the write.
    if (!existsSync(join(dir, OWNER_FILE)) && Date.now() - mtimeOf(dir) < 10 * 60_000) continue
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The pid on a file's first line; NaN when there is no such file (or it is half-written). */
function pidIn(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0])
  } catch {
    return Number.NaN
  }
}

function mtimeOf(dir: string): number {
  try {
    return statSync(dir).mtimeMs
  } catch {
    return 0
  }
}


/** Resolves when the server logs that it accepts connections; rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new PostgresUnavailable(`postgres did not start in 30 s:\n${log}`)), 30_000)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk
      if (log.includes('database system is ready to accept connections')) { clearTimeout(timer); resolve() }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new PostgresUnavailable(`postgres exited (${code ?? signal}) before it was ready:\n${log}`))
    })
  })
}

/** SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to leave). */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGINT')
  })
}
