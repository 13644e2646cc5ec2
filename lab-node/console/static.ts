// Serves the console page from the web build (dist/): `/` is dist/console/index.html, and only
// the files the page loads (console/, assets/, the icon) are served; the customer app is not.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { notFound } from './errors.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json', '.woff2': 'font/woff2',
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>labsync lab console</title>
<h1>labsync lab console</h1><p>The console page is not built yet: run <code>npm run build</code>, then reload. The API at <code>/api/</code> works meanwhile.</p>`

const SERVED = /^\/(console\/|assets\/|icon\.svg$)/

export async function serveConsolePage(req: IncomingMessage, res: ServerResponse, webDir: string, path: string): Promise<void> {
  if (path === '/' || path === '/index.html') {
    const index = join(webDir, 'console', 'index.html')
    if (await isFile(index)) return send(req, res, index)
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
  return send(req, res, file)
}

async function send(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const { size } = await stat(file)
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(file).pipe(res)
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isFile(), () => false)
}
