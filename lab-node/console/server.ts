// The lab operator console (`labsync lab … --console HOST:PORT`): the page for the lab's staff
// and the small JSON API behind it, operator token required for everything, the page and its
// files included (auth.ts: Bearer, or HTTP Basic for a browser). Routes and limits here; what
// each call does is the backend's (backend.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { ID_PATTERN } from '../../shared/schema.ts'
import { OperatorAuth } from './auth.ts'
import type { ConsoleBackend } from './backend.ts'
import { badRequest, ConsoleRefusal, notFound } from './errors.ts'
import { serveConsolePage } from './static.ts'
import { Thumbnails } from './thumbnails.ts'
import { ORDER_ACTIONS, type OrderAction } from '../../shared/console-wire.ts'

export interface ConsoleOptions {
  host: string
  port: number
  /** The operator token; never logged. */
  token: string
  backend: ConsoleBackend
  /** The web build (dist/), holding console/index.html. */
  webDir: string
  log: (line: string) => void
}

export interface ConsoleServer {
  url: string
  /** Stops serving and closes the backend (its open order documents, its journal reader). */
  close(): Promise<void>
}

/** A POST body is at most this: `{items, reason}`. */
const MAX_BODY_BYTES = 4_096
const ORDER_ROUTE = /^\/api\/orders\/([^/]+)\/([a-z]+)$/
const PHOTO_ROUTE = /^\/api\/photos\/([0-9a-f]{64})$/

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const auth = new OperatorAuth(options.token)
  const thumbnails = new Thumbnails((sha) => options.backend.photo(sha))
  const webDir = resolve(options.webDir)
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
    route(req, res).catch((error: unknown) => answerError(res, error, options.log, /^Bearer /i.test(req.headers.authorization ?? '') ? 'Bearer' : 'Basic'))
  })
  server.requestTimeout = 30_000
  server.headersTimeout = 10_000

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console')
    const path = url.pathname
    auth.check(req)
    if (!path.startsWith('/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ConsoleRefusal(405, 'only GET here')
      return serveConsolePage(req, res, webDir, path)
    }
    const { backend } = options
    if (req.method === 'GET') {
      if (path === '/api/queue') return json(res, 200, await backend.queue())
      if (path === '/api/printers') return json(res, 200, { printers: await backend.printers() })
      if (path === '/api/history') return json(res, 200, await backend.history())
      const photo = PHOTO_ROUTE.exec(path)
      if (photo) return image(res, await photoOrNotFound(thumbnails, photo[1], url.searchParams.get('w')))
    }
    const action = ORDER_ROUTE.exec(path)
    if (action) {
      if (req.method !== 'POST') throw new ConsoleRefusal(405, 'order actions are POST')
      const [, order, name] = action
      if (!ID_PATTERN.test(order)) throw badRequest('not an order id')
      if (!ORDER_ACTIONS.includes(name as OrderAction)) throw notFound(`no action ${name}; actions: ${ORDER_ACTIONS.join(', ')}`)
      const body = await readJson(req)
      return json(res, 200, await backend.act(order, name as OrderAction, body))
    }
    throw notFound()
  }

  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(options.port, options.host, () => { server.off('error', fail); done() })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  options.log(`operator console at ${url}/ (operator token required)`)
  return {
    url,
    close: () => new Promise((done) => {
      options.backend.close()
      server.close(() => done())
      server.closeAllConnections()
    }),
  }
}

async function photoOrNotFound(thumbnails: Thumbnails, sha: string, width: string | null): Promise<Buffer> {
  try {
    return await thumbnails.get(sha, width)
  } catch (error) {
    if (error instanceof ConsoleRefusal) throw error
    // The relay would not give it (not a photo of an order of this lab) or it is not an image.
    throw notFound(`photo ${sha.slice(0, 12)}… is not available`)
  }
}

/** The request's JSON object body, bounded; an empty body is `{}`. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY_BYTES) throw new ConsoleRefusal(413, `the body is larger than ${MAX_BODY_BYTES} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new ConsoleRefusal(413, `the body is larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  if (size === 0) return {}
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new ConsoleRefusal(415, 'the body must be application/json')
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw badRequest('the body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object')
  return body as Record<string, unknown>
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body))
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length, 'cache-control': 'no-store' })
  res.end(bytes)
}

function image(res: ServerResponse, bytes: Buffer): void {
  res.writeHead(200, { 'content-type': 'image/webp', 'content-length': bytes.length, 'cache-control': 'private, max-age=3600' })
  res.end(bytes)
}

/**
 * Every error answer in one place: a refusal with its status, anything else 500 (logged, without
 * the request's headers). A 401 names the scheme the request tried: Basic when it sent none or
 * Basic (a browser then asks, or sends what it was given for the page), Bearer when it sent a
 * Bearer token (the page's own sign-in then asks again, with no browser prompt).
 */
function answerError(res: ServerResponse, error: unknown, log: (line: string) => void, scheme: 'Basic' | 'Bearer'): void {
  const refusal = error instanceof ConsoleRefusal ? error : null
  if (!refusal) log(`console: ${(error as Error)?.stack ?? String(error)}`)
  if (res.headersSent) return void res.destroy()
  const status = refusal?.status ?? 500
  if (status === 401) res.setHeader('www-authenticate', `${scheme} realm="labsync lab console"`)
  if (status === 429) res.setHeader('retry-after', '60')
  json(res, status, { error: refusal?.message ?? 'the console failed; see the lab node\'s log' })
}
