// GET /healthz: 200 {ok: true} when the relay can serve, 503 {error} with Retry-After when its
// store cannot be used. A balancer (deploy/haproxy.cfg) asks it every second or two, so every
// check here is cheap: no write, one trivial SQLite query and one statfs; PostgreSQL and the
// --images directory (cluster mode) are asked by probes of their own, whose last answers /healthz reads.
import { statfsSync } from 'node:fs'
import { openPool } from '../../storage/postgres/pool.ts'
import { imagesDirAnswers } from '../../storage/postgres/image-bytes-dir.ts'
import type { ServerResponse } from 'node:http'
import { sendJson } from '../../sync-server/respond.ts'

/** Below this much free space under the data dir the next commit may fail with SQLITE_FULL. */
export const MIN_FREE_BYTES = 1024 * 1024
/** Seconds a balancer or client waits before asking again after a 503. */
export const HEALTH_RETRY_SECONDS = 5

/** One check: null when fine, else why the relay cannot serve (a short line for the operator). */
export type HealthCheck = () => string | null

/** The SQLite store's checks: the database open and answering, the disk not full. */
export function sqliteHealth(db: { open: boolean; prepare(sql: string): { get(): unknown } }, dataDir: string, freeBytes = () => freeBytesUnder(dataDir)): HealthCheck {
  const disk = diskHealth(dataDir, freeBytes)
  return () => {
    if (!db.open) return 'the database is closed'
    try {
      db.prepare('SELECT 1').get()
    } catch (error) {
      return `the database does not answer (${(error as Error).message})`
    }
    return disk()
  }
}

/** The disk under the data dir not full: photos are received there (a cluster relay has no database there). */
export function diskHealth(dataDir: string, freeBytes = () => freeBytesUnder(dataDir)): HealthCheck {
  return () => {
    const free = freeBytes()
    return free !== null && free < MIN_FREE_BYTES ? `the disk under the data dir is full (${free} bytes free)` : null
  }
}

/** Bytes an unprivileged writer may still use on the data dir's filesystem; null if unknown. */
export function freeBytesUnder(dir: string): number | null {
  try {
    const stats = statfsSync(dir)
    return stats.bavail * stats.bsize
  } catch {
    return null
  }
}

/** Answers /healthz; `extra` is added to a 200 (the relay's loaded rooms). */
export function serveHealth(res: ServerResponse, check: HealthCheck, extra: Record<string, unknown> = {}): void {
  const problem = check()
  if (problem === null) return sendJson(res, 200, { ok: true, ...extra })
  res.setHeader('retry-after', String(HEALTH_RETRY_SECONDS))
  sendJson(res, 503, { error: `the relay cannot serve: ${problem}` })
}

/** A background probe's answers, read by /healthz; close() stops it. */
export interface Probe {
  check: HealthCheck
  close(): Promise<void>
}

export interface ProbeOptions {
  /** How often the probe asks, counted from its last answer. */
  intervalMs?: number
  /** How long one answer may take before it counts as none. */
  timeoutMs?: number
  now?: () => number
}

export interface PgProbeOptions extends ProbeOptions {
  /** Takes passwords out of a driver's message (see relay/cluster-args.ts redactSecrets). */
  redact?: (text: string) => string
}

/**
 * Asks `ask` (null: fine, else the problem) every interval, one at a time, in the background, and
 * keeps the last answer for check(). An ask that has not answered within the timeout is a problem
 * from then on, and no second one starts until it returns: a hung NFS server or database would
 * otherwise gather one stuck call per interval, until the libuv threads or the pool ran out.
 * An answer older than three intervals past the timeout (the event loop held) counts as none.
 * Resolves after the first answer (or its timeout), so a relay's first /healthz tells the truth.
 */
export async function backgroundProbe(what: string, ask: () => Promise<string | null>, options: ProbeOptions & { intervalMs: number; timeoutMs: number }): Promise<Probe> {
  const { intervalMs, timeoutMs } = options
  const now = options.now ?? Date.now
  let last = { at: now(), problem: null as string | null }
  let closed = false
  let timer: NodeJS.Timeout | null = null
  const once = async () => {
    const started = now()
    const overdue = setTimeout(() => { last = { at: now(), problem: `${what} has not answered within ${timeoutMs} ms` } }, timeoutMs).unref()
    // An ask reports its own problems; one that throws anyway is named by its code alone (a message may hold a secret).
    const problem = await ask().catch((error: unknown) => `${what} failed (${(error as NodeJS.ErrnoException).code ?? 'unexpected error'})`)
    clearTimeout(overdue)
    const took = now() - started
    last = { at: now(), problem: problem ?? (took > timeoutMs ? `${what} answered only after ${took} ms` : null) }
  }
  const loop = async () => {
    await once()
    if (!closed) timer = setTimeout(loop, intervalMs).unref()
  }
  // The first ask now; the loop goes on after its answer, however late, never beside it.
  const first = once().then(() => { if (!closed) timer = setTimeout(loop, intervalMs).unref() })
  let waited: NodeJS.Timeout | undefined
  await Promise.race([first, new Promise<void>((resolve) => { waited = setTimeout(resolve, timeoutMs + 10).unref() })])
  clearTimeout(waited)
  return {
    check: () => {
      const age = now() - last.at
      if (age > 3 * intervalMs + timeoutMs) return `${what} has not answered for ${Math.round(age / 1000)} s`
      return last.problem
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
    },
  }
}

/**
 * PostgreSQL reachable, as a probe on its own connection last saw it: `SELECT 1` every interval
 * (default 1 s, the balancer's check interval), connecting and answering each bounded by the
 * timeout (default 1 s). /healthz reads the last answer and never queries itself: a balancer's
 * checks, or anyone's, hold no connection and wait on nothing.
 */
export async function pgHealth(connectionString: string, options: PgProbeOptions = {}): Promise<Probe> {
  const timeoutMs = options.timeoutMs ?? 1000
  const redactText = options.redact ?? ((text: string) => text)
  // Its own pool of one: the stores' pools may be busy with a long batch, which is not unhealthy.
  const pool = openPool({ connectionString, max: 1, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, idleTimeoutMillis: 0 })
  const ask = async () => {
    try {
      await pool.query('SELECT 1')
      return null
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      return `PostgreSQL does not answer (${redactText(String(reason))})`
    }
  }
  // The driver bounds connecting and the query each by timeoutMs: the loop's bound is the backstop.
  const probe = await backgroundProbe('PostgreSQL', ask, { now: options.now, intervalMs: options.intervalMs ?? 1000, timeoutMs: 2 * timeoutMs })
  return {
    check: probe.check,
    async close() {
      await probe.close()
      await pool.end()
    },
  }
}

/**
 * The --images directory taking photos, as a probe last saw it: a small file written, fsynced
 * and removed in its staging area (imagesDirAnswers) every interval (default 2 s), one at a time,
 * each waited for at most the timeout (default 5 s: NFS commits a fsync to the server, which may
 * be slow under load; every relay shares the directory, so a false alarm takes them all out of
 * the balancer at once). A hard mount that hangs answers "not within 5000 ms".
 */
export function imagesDirHealth(dir: string, options: ProbeOptions = {}): Promise<Probe> {
  const ask = async () => {
    const problem = await imagesDirAnswers(dir)
    return problem === null ? null : `the images directory ${dir} ${problem}`
  }
  return backgroundProbe(`the images directory ${dir}`, ask, { now: options.now, intervalMs: options.intervalMs ?? 2000, timeoutMs: options.timeoutMs ?? 5000 })
}

/** The first problem of several checks, in order; null when all are fine. */
export function allOf(...checks: HealthCheck[]): HealthCheck {
  return () => {
    for (const check of checks) {
      const problem = check()
      if (problem !== null) return problem
    }
    return null
  }
}
