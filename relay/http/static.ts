// Serves the built web app (customer PWA at /, admin page at /admin/) from dist/, with a plain
// page saying how to build it when it is not built yet.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.map': 'application/json',
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>labsync</title>
<h1>labsync relay</h1><p>The relay is running. The web app is not built yet: run <code>npm run build</code>.</p>`

export async function serveStatic(req: IncomingMessage, res: ServerResponse, webDir: string, path: string): Promise<void> {
  let relative: string
  try {
    relative = decodeURIComponent(path)
  } catch {
    return notFound(res)
  }
  if (relative.endsWith('/')) relative += 'index.html'
  const file = normalize(join(webDir, relative))
  if (!file.startsWith(webDir + sep)) return notFound(res)
  let found = await fileOrNull(file)
  let target = file
  if (!found && !extname(relative)) {
    // Client-side routes fall back to their app's index.html.
    target = join(webDir, relative.startsWith('/admin') ? 'admin/index.html' : 'index.html')
    found = await fileOrNull(target)
  }
  if (!found) {
    if (relative === '/index.html' || relative === '/admin/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(NOT_BUILT)
      return
    }
    return notFound(res)
  }
  const immutable = target.includes(`${sep}assets${sep}`)
  res.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'content-length': found.size,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(target).pipe(res)
}

async function fileOrNull(path: string) {
  try {
    const info = await stat(path)
    return info.isFile() ? info : null
  } catch {
    return null
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: 'not found' }))
}
