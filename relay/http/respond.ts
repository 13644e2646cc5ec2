// JSON in and out for the relay's HTTP API: size-limited bodies, and the one place where typed
// errors become statuses. Every error answer is `{error: "…"}`.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BadRequestError, HttpError, RightsError } from '../../shared/errors.ts'

export const MAX_JSON_BYTES = 64 * 1024

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

/** Answers an error thrown by a route: typed errors get their status, anything else is a 500. */
export function sendError(res: ServerResponse, error: unknown): void {
  const [status, message] =
    error instanceof HttpError ? [error.status, error.message]
    : error instanceof RightsError ? [403, error.message]
    : error instanceof BadRequestError ? [400, error.message]
    : [500, 'internal error']
  if (status === 500) console.error('relay: request failed:', error)
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (error instanceof HttpError && error.retryAfter !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfter))))
  sendJson(res, status, { error: message })
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
