// Serves the console page from the web build (dist/): `/` is dist/console/index.html, and only
// the files the page loads (console/, assets/, the icon) are served; the customer app is not.
// Encoding and caching: sync-server/static-files.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join, normalize, sep } from 'node:path'
import { isFile, sendStaticFile } from '../../sync-server/static-files.ts'
import { notFound } from './errors.ts'

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>labsync lab console</title>
<h1>labsync lab console</h1><p>The console page is not built yet: run <code>npm run build</code>, then reload. The API at <code>/api/</code> works meanwhile.</p>`

const SERVED = /^\/(console\/|assets\/|icon\.svg$)/

export async function serveConsolePage(req: IncomingMessage, res: ServerResponse, webDir: string, path: string): Promise<void> {
  if (path === '/' || path === '/index.html') {
    const index = join(webDir, 'console', 'index.html')
    if (await isFile(index)) return sendStaticFile(req, res, index)
    res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
    return void res.end(NOT_BUILT)
  }
  let relative: string
  try {
    relative = decodeURIComponent(path)
  } catch {
    throw notFound()
  }
  const file = normalize(join(webDir, relative))
  if (!SERVED.test(relative) || !file.startsWith(webDir + sep) || !(await isFile(file))) throw notFound()
  return sendStaticFile(req, res, file)
}
