// What every browser test needs: the app built once per test run with Vite's build() API, served by
// Vite's preview() with /api and /sync proxied to a real relay, a real Chromium with a phone-sized
// page, real JPEG photos made with sharp, and screenshots for a person to look at.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, preview, type PreviewServer } from 'vite'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import sharp from 'sharp'
import { removeDir, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { sharedBuild, type BuildKind } from '../helpers/web-build.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONFIG_FILE = join(ROOT, 'vite.config.ts')
export const SCREENSHOTS = join(ROOT, 'tests', '.artifacts', 'screenshots')

export const CATALOG = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [
    { id: 'L', name: 'L 89×127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
    { id: '4x6', name: 'Postcard 102×152 mm', widthMm: 102, heightMm: 152, media: 'na_index-4x6_4x6in', price: 60 },
    { id: '5x7', name: '2L 127×178 mm', widthMm: 127, heightMm: 178, media: 'na_5x7_5x7in', price: 120 },
  ],
  templates: [{ id: 'plain', name: 'No frame' }, { id: 'white-border', name: 'White border' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: { L: 35 } }],
  fronts: [
    { id: 'station', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] },
    { id: 'mall', name: 'Mall store', lab: 'lab-1', fee: 0, roles: ['reception', 'delivery'] },
  ],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

export const LAB_KEY = 'lab-1-secret'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Stack {
  relay: RelayProcess
  /** The build the preview server serves. */
  outDir: string
  appUrl: string
  browser: Browser
  /** A fresh phone-sized browser profile (its own storage, service worker and cookies). */
  phone(): Promise<BrowserContext>
  /** SIGKILLs the relay and starts it again on the same port and data dir; `relay` follows. */
  restartRelay(): Promise<RelayProcess>
  close(): Promise<void>
}

export interface StackOptions {
  /** The relay's configuration; CATALOG unless given. */
  config?: object
  /** Serve the app over https with this certificate (the browser is told to accept it). */
  https?: { key: string; cert: string }
  /**
   * Looks at every request the preview server gets before it is served or passed to the relay;
   * returning true means it answered the request itself (a relay that is full or busy, say).
   */
  intercept?: Intercept
}

export type Intercept = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * The customer app (not the admin page) in a temporary folder of the caller's, copied from the
 * build made once per test run (tests/helpers/web-build.ts): the caller may remove it.
 */
export function buildApp(): Promise<string> {
  return copyOfBuild('customer')
}

/** The whole web app, the admin page and the lab console included, as buildApp gives it. */
export function buildAll(): Promise<string> {
  return copyOfBuild('full')
}

async function copyOfBuild(kind: BuildKind): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'labsync-web-'))
  cpSync(await sharedBuild(kind), outDir, { recursive: true })
  return outDir
}

/** Vite's logger, minus the proxy's reports of sockets the tests cut on purpose (going offline). */
function quietLogger() {
  const logger = createLogger('error')
  const error = logger.error.bind(logger)
  logger.error = (message, options) => {
    if (/proxy (socket )?error/.test(message)) return
    error(message, options)
  }
  return logger
}

export async function serveApp(outDir: string, relay: RelayProcess, https?: { key: string; cert: string }, intercept?: Intercept): Promise<PreviewServer> {
  return preview({
    configFile: CONFIG_FILE,
    customLogger: quietLogger(),
    build: { outDir },
    // Middlewares added here run before the proxy to the relay.
    plugins: intercept ? [{
      name: 'labsync-test-intercept',
      configurePreviewServer(server) {
        server.middlewares.use((req, res, next) => { if (!intercept(req, res)) next() })
      },
    }] : [],
    preview: {
      host: '127.0.0.1', port: 0, strictPort: false, open: false, https,
      proxy: {
        '/api': { target: relay.url },
        '/sync': { target: relay.wsUrl, ws: true },
      },
    },
  })
}

/** Builds, starts the relay and the preview server, launches Chromium. Close it in test.after. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const outDir = await buildApp()
  const dataDir = tempDir()
  let relay = await startRelay({ config: options.config ?? CATALOG, dataDir })
  const server = await serveApp(outDir, relay, options.https, options.intercept)
  const port = (server.httpServer.address() as AddressInfo).port
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const contexts: BrowserContext[] = []
  return {
    get relay() { return relay },
    outDir,
    appUrl: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    browser,
    async phone() {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
        locale: 'en-US', timezoneId: 'Asia/Tokyo', ignoreHTTPSErrors: options.https !== undefined,
      })
      contexts.push(context)
      return context
    },
    async restartRelay() {
      relay = await relay.restart()
      return relay
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined)
      await browser.close().catch(() => undefined)
      await server.close().catch(() => undefined)
      await relay.stop().catch(() => undefined)
      removeDir(dataDir)
      removeDir(outDir)
    },
  }
}

/** A real JPEG that looks like a photo (sky, sun, hills), different for every seed. */
export async function makeScene(seed: number, width: number, height: number): Promise<Buffer> {
  const hue = (seed * 67) % 360
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 300 200" preserveAspectRatio="none">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="hsl(${hue},70%,55%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},80%,85%)"/>
    </linearGradient></defs>
    <rect width="300" height="200" fill="url(#sky)"/>
    <circle cx="${60 + (seed * 37) % 180}" cy="55" r="22" fill="#ffd98a"/>
    <path d="M0 150 Q 70 ${90 + (seed * 13) % 30} 140 140 T 300 130 V 200 H 0 Z" fill="hsl(${(hue + 120) % 360},45%,35%)"/>
    <path d="M0 175 Q 90 140 180 170 T 300 165 V 200 H 0 Z" fill="hsl(${(hue + 150) % 360},50%,25%)"/>
  </svg>`
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer()
}

/** A large real JPEG (noise does not compress), for uploads that take several chunks. */
export async function makeLargePhoto(width = 2400, height = 1600): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .jpeg({ quality: 95 }).toBuffer()
}

/** Writes photos to a temporary folder, as files a customer would pick. */
export function photoFiles(photos: Array<{ name: string; bytes: Buffer }>): { paths: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'labsync-photos-'))
  const paths = photos.map(({ name, bytes }) => {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    return path
  })
  return { paths, dir }
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage })
}

/** Polls an async check (a page query) until it holds; tests/helpers' waitFor takes sync checks only. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

let accounts = 0
/** Creates an account through the sign-up form; resolves on the orders page. */
export async function signUpInApp(page: Page, appUrl: string, name = 'Aiko Tanaka'): Promise<{ email: string; password: string }> {
  const email = `e2e-${process.pid}-${++accounts}-${Date.now()}@example.test`
  const password = 'correct horse battery'
  await page.goto(appUrl)
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByRole('heading', { name: 'Your orders' }).waitFor()
  return { email, password }
}

/**
 * Waits until the service worker is active, its precache complete (install finishes first), so
 * that the next navigation, offline or not, is answered from the cache.
 */
export async function serviceWorkerReady(page: Page): Promise<void> {
  await page.evaluate(async () => { await navigator.serviceWorker.ready })
}

export { removeDir }
