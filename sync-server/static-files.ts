// Sends one file of the web build over HTTP as a browser should get it: the brotli or gzip copy
// the build wrote beside it (file.br, file.gz) when the request accepts one, with Vary and the
// right Content-Length; hashed assets cached for a year, everything else revalidated (ETag, 304).
// Used by the relay (relay/http/static.ts) and the lab node's console (lab-node/console/static.ts).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createReadStream, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, sep } from 'node:path'

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.map': 'application/json',
  '.woff2': 'font/woff2',
}

export type Encoding = 'br' | 'gzip' | 'identity'

/** The server's order of preference: the smallest first. */
const PREFERENCE: readonly Encoding[] = ['br', 'gzip', 'identity']
/** The suffix of the copy the build writes beside a file for each encoding. */
const SUFFIX: Record<Exclude<Encoding, 'identity'>, string> = { br: '.br', gzip: '.gz' }

/**
 * The encoding to send, given the request's Accept-Encoding and the copies there are: br, then
 * gzip, then identity, leaving out any the request refuses (q=0, directly or through `*;q=0`).
 * Returns null when the request refuses every encoding there is (answer 406).
 */
export function chooseEncoding(acceptEncoding: string | undefined, available: ReadonlySet<Encoding>): Encoding | null {
  const weights = new Map<string, number>()
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    if (!name) continue
    const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)).find((m) => m)
    weights.set(name, q ? Number(q[1]) : 1)
  }
  const accepts = (encoding: Encoding): boolean => {
    const weight = weights.get(encoding) ?? weights.get('*')
    // Unlisted identity is always acceptable (RFC 9110 12.5.3); unlisted codings are not.
    if (weight === undefined) return encoding === 'identity'
    return weight > 0
  }
  return PREFERENCE.find((encoding) => available.has(encoding) && accepts(encoding)) ?? null
}

/** Hashed build output (`assets/name-<hash>.js`) never changes under its name; the rest is revalidated. */
export function cacheControlFor(file: string): string {
  return file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'
}

async function fileStats(path: string): Promise<Stats | null> {
  try {
    const info = await stat(path)
    return info.isFile() ? info : null
  } catch {
    return null
  }
}

/** Whether `path` is a regular file: what the routers check before sending it. */
export async function isFile(path: string): Promise<boolean> {
  return (await fileStats(path)) !== null
}

/**
 * Sends `file` (which must exist) for a GET or HEAD: the best encoded copy the request accepts,
 * with its own length and ETag. Answers 304 when the request's If-None-Match is that ETag.
 */
export async function sendStaticFile(req: IncomingMessage, res: ServerResponse, file: string, extraHeaders: Record<string, string> = {}): Promise<void> {
  const copies = new Map<Encoding, Stats>()
  const original = await fileStats(file)
  if (original) copies.set('identity', original)
  for (const [encoding, suffix] of Object.entries(SUFFIX) as Array<[Encoding, string]>) {
    const info = await fileStats(file + suffix)
    if (info) copies.set(encoding, info)
  }
  const headers: Record<string, string | number> = {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': cacheControlFor(file),
    'x-content-type-options': 'nosniff',
    ...extraHeaders,
  }
  // Whenever there is more than one copy, which one a cache may reuse depends on Accept-Encoding.
  if (copies.size > 1) headers.vary = 'Accept-Encoding'
  const encoding = chooseEncoding(req.headers['accept-encoding'], new Set(copies.keys()))
  if (!encoding) {
    res.writeHead(406, { 'content-type': 'text/plain; charset=utf-8', vary: 'Accept-Encoding' })
    return void res.end('none of the accepted encodings is available')
  }
  const info = copies.get(encoding)!
  const etag = `W/"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}-${encoding}"`
  headers.etag = etag
  if (encoding !== 'identity') headers['content-encoding'] = encoding
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers)
    return void res.end()
  }
  headers['content-length'] = info.size
  res.writeHead(200, headers)
  if (req.method === 'HEAD') return void res.end()
  const path = encoding === 'identity' ? file : file + SUFFIX[encoding]
  createReadStream(path).on('error', () => res.destroy()).pipe(res)
}
