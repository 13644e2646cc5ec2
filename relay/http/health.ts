// GET /healthz: 200 {ok: true} when the relay can serve, 503 {error} with Retry-After when its
// store cannot be used. A balancer (deploy/haproxy.cfg) asks it every second or two, so every
// check here is cheap: no write, one trivial query and one statfs.
import { statfsSync } from 'node:fs'
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
