// What a customer's first visit costs on the wire: the customer app built with Vite, served by a
// real relay (createRelay, as bin/labsync runs it, webDir the build), opened in Chromium; every
// response body counted as sent (compressed), the service worker's precache fetches included.
// The build's own report (web/report-size.ts) estimates the same figure; the budget is 120 KiB.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chromium, type Browser, type Response } from 'playwright-core'
import { createRelay, type Relay } from '../../relay/server.ts'
import { parseConfig } from '../../relay/config.ts'
import type { RoomsOptions } from '../../sync-server/rooms.ts'
import { measure, FIRST_VISIT_BUDGET_KIB } from '../../web/report-size.ts'
import { buildApp, CATALOG, removeDir } from './harness.ts'
import { tempDir } from '../helpers/relay.ts'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const KiB = 1024

let outDir = ''
let dataDir = ''
let relay: Relay | undefined
let browser: Browser | undefined

test.before(async () => {
  outDir = await buildApp()
  dataDir = tempDir()
  relay = await createRelay({ config: parseConfig(CATALOG), dataDir, host: '127.0.0.1', port: 0, webDir: outDir })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
})

test.after(async () => {
  await browser?.close().catch(() => undefined)
  if (relay) {
    await relay.close()
    // createRelay's close() leaves the document writer thread running (see orders-hardening).
    await ((relay.rooms as unknown as { options: RoomsOptions }).options.store as unknown as { close?: () => Promise<void> }).close?.()
  }
  removeDir(dataDir)
  removeDir(outDir)
})

/**
 * Chromium reports an answer from the HTTP cache as a negative body size (nothing crossed the
 * wire), and the service worker's own script as 0: for that one, its Content-Length says what came.
 */
async function bodyBytes(reported: number, response: Response | null): Promise<number> {
  if (reported < 0) return 0
  if (reported > 0 || !response || response.status() !== 200) return reported
  return Number((await response.headerValue('content-length')) ?? 0)
}

interface Received { url: string; bytes: number; encoding: string; fromServiceWorker: boolean }

test(`a first visit in Chromium receives at most ${FIRST_VISIT_BUDGET_KIB} KiB, service worker fetches included`, async () => {
  const context = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US' })
  const received: Array<Promise<Received>> = []
  // Context-level events include the service worker's own requests (its precache fetches).
  context.on('requestfinished', (request) => {
    received.push((async () => {
      const response = await request.response()
      const sizes = await request.sizes()
      return {
        url: request.url(), bytes: await bodyBytes(sizes.responseBodySize, response),
        encoding: (await response?.headerValue('content-encoding')) ?? 'identity',
        fromServiceWorker: request.serviceWorker() !== null,
      }
    })())
  })
  const page = await context.newPage()
  await page.goto(relay!.url)
  await page.getByLabel('Email').waitFor()
  // Install finishes only when the precache is complete.
  await page.evaluate(async () => { await navigator.serviceWorker.ready })
  await page.waitForLoadState('networkidle')
  const all = (await Promise.all(received)).filter((r) => r.url.startsWith(relay!.url) && !new URL(r.url).pathname.startsWith('/api/'))
  await context.close()
  const total = all.reduce((sum, r) => sum + r.bytes, 0)
  const lines = all.map((r) => `  ${String(r.bytes).padStart(7)} B  ${r.encoding.padEnd(8)} ${r.fromServiceWorker ? 'sw ' : '   '} ${new URL(r.url).pathname}`)
  console.log(`first visit in Chromium: ${total} B (${(total / KiB).toFixed(1)} KiB) in ${all.length} responses\n${lines.join('\n')}`)
  const estimate = measure(outDir).firstVisitBytes
  console.log(`the build's estimate: ${estimate} B (${(estimate / KiB).toFixed(1)} KiB)`)
  assert.ok(all.some((r) => r.fromServiceWorker), 'the service worker fetched its precache')
  assert.ok(total <= FIRST_VISIT_BUDGET_KIB * KiB, `${(total / KiB).toFixed(1)} KiB received, over the ${FIRST_VISIT_BUDGET_KIB} KiB budget`)
  // The build's budget is only worth something if it measures what a browser gets.
  assert.ok(Math.abs(estimate - total) <= total * 0.1, `the build estimates ${estimate} B, Chromium received ${total} B`)
})

test('every script and style over 1 KiB arrives brotli-compressed', async () => {
  const context = await browser!.newContext()
  const page = await context.newPage()
  const scripts: Array<Promise<{ encoding: string; bytes: number }>> = []
  context.on('requestfinished', (request) => {
    if (!/\.(js|css)$/.test(new URL(request.url()).pathname)) return
    scripts.push(Promise.all([request.response(), request.sizes()]).then(async ([response, sizes]) => ({
      encoding: (await response?.headerValue('content-encoding')) ?? 'identity', bytes: sizes.responseBodySize,
    })))
  })
  await page.goto(relay!.url)
  await page.evaluate(async () => { await navigator.serviceWorker.ready })
  await page.waitForLoadState('networkidle')
  const big = (await Promise.all(scripts)).filter((s) => s.bytes > 1024)
  await context.close()
  assert.ok(big.length > 0)
  for (const script of big) assert.is(script.encoding, 'br')
})

test.run()
