// The app through the balancer, as a customer's phone meets a cluster: three relay processes on a
// real PostgreSQL and Redis serve the built app (LABSYNC_WEB_DIR), the shipped haproxy config
// terminates TLS with a certificate openssl made for this run, and Chromium trusts that
// certificate by its public key (not by ignoring certificate errors). The app loads over https,
// installs its service worker, a customer signs up, composes an order with a photo, and the
// order syncs over wss: its spec reaches PostgreSQL and every relay serves it; the photo, sent
// by the app's tus uploader through the balancer, is stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, X509Certificate } from 'node:crypto'
import pg from 'pg'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startCluster, storedDoc, type Cluster } from '../helpers/cluster.ts'
import { connect, synced } from '../helpers/relay.ts'
import { buildApp, CATALOG, makeScene, photoFiles, removeDir, screenshot, serviceWorkerReady, signUpInApp, until } from './harness.ts'

/** harness.ts's Chromium flags, plus the one that trusts this run's certificate. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

let cluster: Cluster | null = null
let browser: Browser | null = null
let page: Page
let webDir = ''
let photosDir = ''

/** base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo: what Chromium's SPKI list takes. */
function spkiHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

test.before(async () => {
  webDir = await buildApp()
  cluster = await startCluster({ config: CATALOG, env: { LABSYNC_WEB_DIR: webDir } })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(cluster.proxy.ca)}`] })
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'Asia/Tokyo' })
  page = await context.newPage()
})

test.after(async () => {
  await browser?.close().catch(() => undefined)
  await cluster?.stop()
  if (webDir) removeDir(webDir)
  if (photosDir) removeDir(photosDir)
})

test('the app loads over https through the balancer, installs its service worker, and an order syncs over wss to PostgreSQL and every relay', async () => {
  const c = cluster!
  const appUrl = c.proxy.url
  const sockets: string[] = []
  page.on('websocket', (socket) => sockets.push(socket.url()))
  const loaded = await page.goto(appUrl)
  assert.is(loaded?.status(), 200)
  assert.match(loaded!.headers()['x-labsync-relay'] ?? '', /^relay\d$/, 'a relay served the page, through haproxy')
  assert.is(await page.evaluate(() => window.isSecureContext), true)

  await signUpInApp(page, appUrl)
  await serviceWorkerReady(page)
  assert.is(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state), 'activated')
  assert.ok(sockets.some((url) => url.startsWith(`${appUrl.replace(/^https/, 'wss')}/sync`)), `the app syncs over wss through the balancer: ${sockets.join(', ')}`)

  const files = photoFiles([{ name: 'harbour.jpg', bytes: await makeScene(7, 1200, 900) }])
  photosDir = files.dir
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  const orderId = new URL(page.url()).pathname.split('/').pop()!
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await until(async () => (await page.locator('ls-photo-row').count()) === 1, 'the print')
  await page.getByLabel('Where you pick up the prints').selectOption('station')

  // The order's spec in PostgreSQL: written over wss, committed before it was acknowledged.
  const itemsIn = async (doc: Promise<{ getMap(name: string): { toJSON(): Record<string, unknown> } }>) => ((await doc).getMap('spec').toJSON().items ?? []) as Array<{ image: string }>
  await until(async () => (await itemsIn(storedDoc(c.store, `order/${orderId}`))).length === 1, 'the order in PostgreSQL', 20_000)
  const [item] = await itemsIn(storedDoc(c.store, `order/${orderId}`))
  // Every relay serves it (each loads it from PostgreSQL), to the customer's own token.
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session') ?? '{}') as { token: string }).token)
  for (const relay of c.relays) {
    const { doc, provider } = connect(relay!, `order/${orderId}`, token)
    try {
      await synced(provider, 10_000)
      assert.is((doc.getMap('spec').toJSON().items as Array<{ image: string }>)[0]?.image, item.image)
    } finally {
      provider.destroy()
    }
  }
  // The photo, uploaded by the app's tus uploader through the balancer (creation round-robin, PATCHes pinned).
  const db = new pg.Client({ connectionString: c.store })
  await db.connect()
  try {
    await until(async () => (await db.query('SELECT 1 FROM image_owners WHERE sha256 = $1', [item.image])).rowCount === 1, 'the photo stored', 30_000)
  } finally {
    await db.end()
  }
  await screenshot(page, 'cluster-https-01-order')
})

test.run()
