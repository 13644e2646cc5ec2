// GET /healthz: 200 {ok: true} when the relay can serve, 503 {error} with Retry-After when its
// store cannot be used. A balancer (deploy/haproxy.cfg) asks it every second or two, so every
// check here is cheap: no write, one trivial SQLite query and one statfs; PostgreSQL (cluster
// mode) is asked by a probe of its own, whose last answer /healthz reads.
import { statfsSync } from 'node:fs'
import pg from 'pg'
import { openPool } from '../../storage/postgres/pool.ts'
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
  return () => {
    if (!db.open) return 'the database is closed'
    try {
      db.prepare('SELECT 1').get()
    } catch (error) {
      return `the database does not answer (${(error as Error).message})`
    }
    const free = freeBytes()
    if (free !== null && free < MIN_FREE_BYTES) return `the disk under the data dir is full (${free} bytes free)`
    return null
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

/** A PostgreSQL probe's answers, read by /healthz; close() stops it. */
export interface PgProbe {
  check: HealthCheck
  close(): Promise<void>
}

export interface PgProbeOptions {
  /** How often the probe asks (default 1 s, the balancer's check interval). */
  intervalMs?: number
  /** How long one answer may take, connecting included, before it counts as none (default 1 s). */
  timeoutMs?: number
  now?: () => number
  /** Takes passwords out of a driver's message (see relay/cluster-args.ts redactSecrets). */
  redact?: (text: string) => string
}

/**
 * PostgreSQL reachable, as a probe on its own connection last saw it: `SELECT 1` every interval,
 * one at a time, each bounded by the timeout. /healthz reads the last answer and never queries
 * itself: a balancer's checks, or anyone's, hold no connection and wait on nothing. An answer
 * older than three intervals (a probe that hangs past its timeout) counts as none.
 * Resolves after the first answer, so a relay's first /healthz tells the truth.
 */
export async function pgHealth(connectionString: string, options: PgProbeOptions = {}): Promise<PgProbe> {
  const intervalMs = options.intervalMs ?? 1000
  const timeoutMs = options.timeoutMs ?? 1000
  const now = options.now ?? Date.now
  const redactText = options.redact ?? ((text: string) => text)
  // Its own pool of one: the stores' pools may be busy with a long batch, which is not unhealthy.
  const pool = openPool({ connectionString, max: 1, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, idleTimeoutMillis: 0 })
  let last = { at: now(), problem: null as string | null }
  let closed = false
  const probe = async () => {
    try {
      await pool.query('SELECT 1')
      last = { at: now(), problem: null }
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      last = { at: now(), problem: `PostgreSQL does not answer (${redactText(String(reason))})` }
    }
  }
  await probe()
  let timer: NodeJS.Timeout | null = null
  const loop = async () => {
    await probe()
    if (!closed) timer = setTimeout(loop, intervalMs).unref()
  }
  timer = setTimeout(loop, intervalMs).unref()
  return {
    check: () => {
      const age = now() - last.at
      if (age > 3 * intervalMs) return `PostgreSQL has not answered for ${Math.round(age / 1000)} s`
      return last.problem
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      await pool.end()
    },
  }
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
