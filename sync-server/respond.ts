// JSON in and out for the relay's HTTP API: size-limited bodies, and the one place where typed
// errors become statuses. Every error answer is `{error: "…"}`.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BadRequestError, HttpError, RightsError } from '../shared/errors.ts'

export const MAX_JSON_BYTES = 64 * 1024

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

/** Seconds a client waits before retrying when the disk is full: an operator has to act first. */
export const STORAGE_FULL_RETRY_SECONDS = 60

/** Seconds a client waits before retrying when the database cannot be reached (as /healthz says). */
export const STORE_UNREACHABLE_RETRY_SECONDS = 5

/**
 * Answers an error thrown by a route: typed errors get their status, a full disk or database
 * (routes that know better, like uploads' 507, map it themselves) or an unreachable database a 503
 * to retry later, anything else is a 500.
 */
export function sendError(res: ServerResponse, error: unknown): void {
  // A client that went away mid-request is logged once, in one line, by the server (relay/server.ts);
  // its reading's error (ECONNRESET "aborted") is not the database's.
  const clientGone = res.req?.destroyed === true && !res.req.complete
  const typed =
    error instanceof HttpError ? error
    : error instanceof RightsError ? new HttpError(403, error.message)
    : error instanceof BadRequestError ? new HttpError(400, error.message)
    : isStorageFull(error) ? storageFull(503, error)
    : !clientGone && isStoreUnreachable(error) ? storeUnreachable(error)
    : new HttpError(500, 'internal error')
  if (typed.status === 500 && !clientGone) console.error('relay: request failed:', error)
  if (res.headersSent || clientGone) {
    res.destroy()
    return
  }
  if (typed.retryAfter !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(typed.retryAfter))))
  sendJson(res, typed.status, { error: typed.message })
}

/**
 * Whether an error says the disk or the database is full: ENOSPC or EDQUOT from a file, SQLITE_FULL
 * from SQLite. Such a write can succeed later, once an operator made room.
 */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL'
}

/** Network errors a route can only have met talking to its database (a client gone is told apart first). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN'])
/** PostgreSQL's SQLSTATEs for "not now": shutting down, starting, out of connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300'])

/**
 * Whether an error says the database (PostgreSQL in cluster mode) cannot be reached now: a refused
 * or cut connection, or a SQLSTATE of class 08 (connection exception) or of UNAVAILABLE_SQLSTATES.
 * By code only; node-postgres's few code-less errors ("Connection terminated unexpectedly") stay 500.
 */
export function isStoreUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return false
  return NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)
}

/** The answer to a request that found the database unreachable, logged in one line (no stack: it is not a bug). */
export function storeUnreachable(error: unknown): HttpError {
  console.error(`relay: the database cannot be reached: ${(error as Error).message}`)
  return new HttpError(503, 'the relay cannot reach its database; try again in a moment', STORE_UNREACHABLE_RETRY_SECONDS)
}

/**
 * The answer to a write that found the disk full, logged in one line: 507 where the client
 * uploads (the status says "storage", and the app retries it), 503 elsewhere; both with Retry-After.
 */
export function storageFull(status: 503 | 507, error: unknown): HttpError {
  console.error(`relay: storage full: ${(error as Error).message}`)
  return new HttpError(status, 'the relay\'s storage is full; try again later', STORAGE_FULL_RETRY_SECONDS)
}

/** Reads a JSON object body of at most `limit` bytes. */
export async function readJson(req: IncomingMessage, limit = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'expected Content-Type: application/json')
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, `body over ${limit} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new HttpError(413, `body over ${limit} bytes`)
    chunks.push(chunk)
  }
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new BadRequestError('body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequestError('body must be a JSON object')
  return value as Record<string, unknown>
}

export function requireString(body: Record<string, unknown>, field: string, max = 256): string {
  const value = body[field]
  if (typeof value !== 'string' || value.length === 0) throw new BadRequestError(`${field} is required`)
  if (value.length > max) throw new BadRequestError(`${field} is longer than ${max} characters`)
  return value
}

/** Starts listening; resolves with `host:port` as reached (IPv6 in brackets), rejects on EADDRINUSE and the like. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const address = server.address() as AddressInfo
  return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
}

/** The token of an HTTP request: `Authorization: Bearer …`, else `?token=`. */
export function bearerToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization
  return (header && /^Bearer\s+(.+)$/i.exec(header)?.[1]) || url.searchParams.get('token')
}
