// Serves the built web app (customer PWA at /, admin page at /admin/) from dist/, with a plain
// page saying how to build it when it is not built yet. Encoding and caching: sync-server/static-files.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { isFile, sendStaticFile } from '../../sync-server/static-files.ts'

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
  let found = await isFile(file)
  let target = file
  if (!found && !extname(relative)) {
    // Client-side routes fall back to their app's index.html.
    target = join(webDir, relative.startsWith('/admin') ? 'admin/index.html' : 'index.html')
    found = await isFile(target)
  }
  if (!found) {
    if (relative === '/index.html' || relative === '/admin/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(NOT_BUILT)
      return
    }
    return notFound(res)
  }
  return sendStaticFile(req, res, target)
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: 'not found' }))
}
