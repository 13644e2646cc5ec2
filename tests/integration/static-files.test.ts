// The web build as the relay and the lab console send it, over real HTTP (node:http, so that the
// Accept-Encoding sent is exactly the test's): the brotli or gzip copy the build wrote, chosen by
// Accept-Encoding with q=0 honoured, Vary and Content-Length right; hashed assets immutable, the
// HTML, service worker and manifest revalidated; HEAD; 304; traversal refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { createRelay, type Relay } from '../../relay/server.ts'
import { parseConfig } from '../../relay/config.ts'
import type { RoomsOptions } from '../../sync-server/rooms.ts'
import { chooseEncoding, type Encoding } from '../../sync-server/static-files.ts'
import { startConsole, type ConsoleServer } from '../../lab-node/console/server.ts'
import type { ConsoleBackend } from '../../lab-node/console/backend.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

const CONFIG = parseConfig({
  products: [{ id: 'L', name: 'L', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  labs: [{ id: 'lab-1', name: 'Lab', key: 'lab-1-secret' }],
  fronts: [{ id: 'store', name: 'Store', lab: 'lab-1', fee: 0, roles: ['reception', 'delivery'] }],
})

const OPERATOR_TOKEN = 'operator-token-1'

/** A script that compresses well, as a real bundle does. */
const SCRIPT = Buffer.from(Array.from({ length: 400 }, (_, i) => `export const value${i} = ${i} * 2;\n`).join(''))
const HTML = Buffer.from(`<!doctype html><title>app</title>${'<p>hello</p>'.repeat(200)}`)
const SMALL_SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')

let root = ''
let webDir = ''
let dataDir = ''
let relay: Relay
let lab: ConsoleServer
let base = ''

/** What the build writes: each file, and .br/.gz beside the ones over 1 KiB. */
function writeBuild(dir: string, files: Record<string, Buffer>): void {
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), bytes)
    if (bytes.length < 1024) continue
    writeFileSync(join(dir, `${name}.br`), brotliCompressSync(bytes))
    writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes))
  }
}

test.before(async () => {
  // The build inside a folder holding a file it must never serve.
  root = tempDir('labsync-static-')
  webDir = join(root, 'web')
  dataDir = join(root, 'data')
  mkdirSync(dataDir)
  writeBuild(webDir, {
    'index.html': HTML, 'sw.js': SCRIPT, 'manifest.webmanifest': Buffer.from('{"name":"app"}'),
    'assets/main-AbC123xy.js': SCRIPT, 'icon.svg': SMALL_SVG, 'admin/index.html': HTML,
    'console/index.html': HTML, 'console/assets/console-Zz9.js': SCRIPT,
  })
  writeFileSync(join(root, 'secret.txt'), 'not for the web')
  relay = await createRelay({ config: CONFIG, dataDir, host: '127.0.0.1', port: 0, webDir })
  base = relay.url
  const backend = { close: () => undefined } as unknown as ConsoleBackend
  lab = await startConsole({ host: '127.0.0.1', port: 0, token: OPERATOR_TOKEN, backend, webDir, log: () => undefined })
})

test.after(async () => {
  await lab?.close()
  if (relay) {
    await relay.close()
    // createRelay's close() leaves the document writer thread running (see orders-hardening).
    await ((relay.rooms as unknown as { options: RoomsOptions }).options.store as unknown as { close?: () => Promise<void> }).close?.()
  }
  removeDir(root)
})

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** One request with exactly these headers and this raw path (no client normalisation). */
function get(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const req = request({ host: target.hostname, port: target.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

function decoded(answer: Answer): Buffer {
  const encoding = answer.headers['content-encoding']
  if (encoding === 'br') return brotliDecompressSync(answer.body)
  if (encoding === 'gzip') return gunzipSync(answer.body)
  return answer.body
}

test('a browser accepting br gets the brotli copy, its own Content-Length, Vary, and the same bytes once decoded', async () => {
  const answer = await get(base, '/assets/main-AbC123xy.js', { 'accept-encoding': 'gzip, deflate, br, zstd' })
  assert.is(answer.status, 200)
  assert.is(answer.headers['content-encoding'], 'br')
  assert.is(answer.headers.vary, 'Accept-Encoding')
  assert.is(Number(answer.headers['content-length']), answer.body.length)
  assert.ok(answer.body.length < SCRIPT.length / 3, `${answer.body.length} B sent for ${SCRIPT.length} B`)
  assert.equal(decoded(answer), SCRIPT)
  assert.is(answer.headers['content-type'], 'text/javascript; charset=utf-8')
})

test('gzip when br is not accepted; identity when nothing is, or when br and gzip are refused with q=0', async () => {
  const gzip = await get(base, '/assets/main-AbC123xy.js', { 'accept-encoding': 'gzip' })
  assert.is(gzip.headers['content-encoding'], 'gzip')
  assert.equal(decoded(gzip), SCRIPT)
  assert.is(Number(gzip.headers['content-length']), gzip.body.length)
  for (const accept of [undefined, 'identity', 'br;q=0, gzip;q=0', 'br;q=0, gzip;q=0.0, deflate']) {
    const answer = await get(base, '/assets/main-AbC123xy.js', accept === undefined ? {} : { 'accept-encoding': accept })
    assert.is(answer.headers['content-encoding'], undefined, `Accept-Encoding: ${accept}`)
    assert.equal(answer.body, SCRIPT)
    assert.is(Number(answer.headers['content-length']), SCRIPT.length)
    assert.is(answer.headers.vary, 'Accept-Encoding')
  }
  const notBr = await get(base, '/assets/main-AbC123xy.js', { 'accept-encoding': 'br;q=0, *' })
  assert.is(notBr.headers['content-encoding'], 'gzip')
})

test('hashed assets are immutable for a year; the HTML, the service worker and the manifest are revalidated', async () => {
  const asset = await get(base, '/assets/main-AbC123xy.js', { 'accept-encoding': 'br' })
  assert.is(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  for (const path of ['/', '/index.html', '/sw.js', '/manifest.webmanifest', '/admin/', '/orders/some-route']) {
    const answer = await get(base, path, { 'accept-encoding': 'br' })
    assert.is(answer.status, 200, path)
    assert.is(answer.headers['cache-control'], 'no-cache', path)
  }
  const manifest = await get(base, '/manifest.webmanifest')
  assert.is(manifest.headers['content-type'], 'application/manifest+json')
})

test('HEAD answers the same headers as GET, with no body', async () => {
  const got = await get(base, '/index.html', { 'accept-encoding': 'gzip, br' })
  const head = await get(base, '/index.html', { 'accept-encoding': 'gzip, br' }, 'HEAD')
  assert.is(head.status, 200)
  assert.is(head.body.length, 0)
  for (const name of ['content-encoding', 'content-length', 'content-type', 'cache-control', 'vary', 'etag']) {
    assert.is(head.headers[name], got.headers[name], name)
  }
  assert.is(got.headers['content-encoding'], 'br')
})

test('a file too small to compress is sent as it is, without Vary', async () => {
  const answer = await get(base, '/icon.svg', { 'accept-encoding': 'gzip, br' })
  assert.is(answer.headers['content-encoding'], undefined)
  assert.is(answer.headers.vary, undefined)
  assert.equal(answer.body, SMALL_SVG)
})

test('revalidation: the ETag of the copy sent gets a 304 with no body; another encoding has another ETag', async () => {
  const br = await get(base, '/index.html', { 'accept-encoding': 'br' })
  const gzip = await get(base, '/index.html', { 'accept-encoding': 'gzip' })
  assert.ok(br.headers.etag && gzip.headers.etag && br.headers.etag !== gzip.headers.etag)
  const again = await get(base, '/index.html', { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })
  assert.is(again.status, 304)
  assert.is(again.body.length, 0)
  const changed = await get(base, '/index.html', { 'accept-encoding': 'br', 'if-none-match': String(gzip.headers.etag) })
  assert.is(changed.status, 200)
})

test('paths outside the build are refused, encoded or not', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/%E0%A4%A']) {
    const answer = await get(base, path, { 'accept-encoding': 'br' })
    assert.is(answer.status, 404, path)
    assert.not.match(answer.body.toString(), /not for the web|root:/)
  }
})

test('the lab console sends its page and scripts compressed the same way, and nothing of the customer app', async () => {
  const operator = { authorization: `Bearer ${OPERATOR_TOKEN}` }
  const page = await get(lab.url, '/', { 'accept-encoding': 'gzip, br', ...operator })
  assert.is(page.status, 200)
  assert.is(page.headers['content-encoding'], 'br')
  assert.is(page.headers['cache-control'], 'no-cache')
  assert.equal(decoded(page), HTML)
  const script = await get(lab.url, '/console/assets/console-Zz9.js', { 'accept-encoding': 'gzip', ...operator })
  assert.is(script.headers['content-encoding'], 'gzip')
  assert.is(script.headers.vary, 'Accept-Encoding')
  assert.is(script.headers['cache-control'], 'public, max-age=31536000, immutable')
  assert.equal(decoded(script), SCRIPT)
  assert.is((await get(lab.url, '/sw.js', { 'accept-encoding': 'br', ...operator })).status, 404)
  assert.is((await get(lab.url, '/console/..%2f..%2f..%2fsecret.txt', operator)).status, 404)
})

test('chooseEncoding: br over gzip over identity, q=0 and *;q=0 refuse, identity unless refused', () => {
  const all = new Set<Encoding>(['br', 'gzip', 'identity'])
  assert.is(chooseEncoding('gzip;q=1, br;q=0.1', all), 'br')
  assert.is(chooseEncoding('GZIP', all), 'gzip')
  assert.is(chooseEncoding('*', all), 'br')
  assert.is(chooseEncoding('*;q=0', all), null)
  assert.is(chooseEncoding('identity;q=0', new Set<Encoding>(['identity'])), null)
  assert.is(chooseEncoding('identity;q=0, gzip', all), 'gzip')
  assert.is(chooseEncoding('', all), 'identity')
  assert.is(chooseEncoding('br', new Set<Encoding>(['identity'])), 'identity')
})

test.run()
