// Uploads that obey the customer (issue 16 point 4) and a received order waiting for its photos
// (points 1 and 5), in Chromium at 390×844: a removed photo's upload stops (the bytes that reach
// the relay stay below the photo's size) and the photo leaves the device; a discarded draft's
// uploads stop too; an order whose photo has not arrived says which photo and where it uploads from.
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page, Route } from 'playwright-core'
import { makeLargePhoto, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
/** Bytes of upload bodies passed on to the relay: at least what it received. */
let forwarded = 0
/** While set, uploads are answered 503 (the relay is busy) instead of reaching it. */
let refuseUploads = false
const PATCH_DELAY_MS = 700

test.before(async () => {
  stack = await startStack()
  // No service worker: Playwright's routes see the page's own requests only when none answers them.
  context = await stack.browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'en-US', timezoneId: 'Asia/Tokyo', serviceWorkers: 'block',
  })
  // A slow link: each chunk takes a while, so a removal lands mid-upload as it would on a phone.
  await context.route('**/api/uploads**', async (route: Route) => {
    const request = route.request()
    if (refuseUploads) return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, body: '{"error":"busy"}' })
    if (request.method() !== 'PATCH') return route.continue()
    await new Promise((resolve) => setTimeout(resolve, PATCH_DELAY_MS))
    const bytes = request.postDataBuffer()?.length ?? 0
    try {
      await route.continue()
      forwarded += bytes
    } catch { /* the page aborted it meanwhile: nothing went on */ }
  })
  page = await context.newPage()
  await signUpInApp(page, stack.appUrl)
})

test.after(async () => {
  await context?.close()
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** Whether the relay holds the photo, asked with the customer's token. */
async function relayHas(hash: string): Promise<boolean> {
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session') ?? '{}') as { token: string }).token)
  const res = await fetch(`${stack.relay.url}/api/images/${hash}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })
  return res.status === 200
}

/** Whether the photo is still stored on the device (IndexedDB `labsync-photos`). */
async function onDevice(hash: string): Promise<boolean> {
  return page.evaluate((key) => new Promise<boolean>((resolve, reject) => {
    const open = indexedDB.open('labsync-photos')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const db = open.result
      const get = db.transaction('photos').objectStore('photos').get(key)
      get.onsuccess = () => { db.close(); resolve(get.result !== undefined) }
      get.onerror = () => { db.close(); reject(get.error) }
    }
  }), hash)
}

/** Starts a draft with one large photo and waits until its first chunk has gone out. */
async function draftUploading(name: string, seed: number): Promise<{ hash: string; size: number }> {
  const bytes = await makeLargePhoto(2600 + seed, 1800)
  const files = photoFiles([{ name, bytes }])
  photosDir = files.dir
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  const before = forwarded
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await until(() => forwarded > before, 'the first chunk to reach the relay', 20_000)
  return { hash: sha256(bytes), size: bytes.length }
}

test('removing a photo mid-upload stops the upload and removes it from the device', async () => {
  const start = forwarded
  const { hash, size } = await draftUploading('big-removed.jpg', 1)
  assert.ok(size > 3 * 1024 * 1024, `a photo of several chunks (${size} B)`)
  await page.locator('ls-compose .overall').getByText(/0 of 1 photo uploaded · [\d.]+ MB of [\d.]+ MB/).waitFor()
  await screenshot(page, 'customer-uploads-01-progress', false)
  await page.getByRole('button', { name: 'Cancel upload of big-removed.jpg and remove it' }).click()
  await until(async () => (await page.locator('ls-photo-row').count()) === 0, 'the print to go')
  // Long enough for the rest of the photo (several more chunks at PATCH_DELAY_MS each) to have gone.
  await new Promise((resolve) => setTimeout(resolve, 4 * PATCH_DELAY_MS + 1000))
  const sent = forwarded - start
  assert.ok(sent < size, `${sent} B of ${size} B reached the relay`)
  assert.is(await relayHas(hash), false)
  await until(async () => !(await onDevice(hash)), 'the photo to leave the device')
})

test('discarding a draft stops its uploads and removes its photos from the device', async () => {
  const start = forwarded
  const { hash, size } = await draftUploading('big-discarded.jpg', 2)
  await page.getByRole('button', { name: 'Discard draft' }).click()
  await page.getByRole('button', { name: 'Yes, discard the draft' }).click()
  await page.getByRole('heading', { name: 'Your orders' }).waitFor()
  await new Promise((resolve) => setTimeout(resolve, 4 * PATCH_DELAY_MS + 1000))
  const sent = forwarded - start
  assert.ok(sent < size, `${sent} B of ${size} B reached the relay`)
  assert.is(await relayHas(hash), false)
  await until(async () => !(await onDevice(hash)), 'the photo to leave the device')
})

test('a sent order whose photo has not arrived waits for it, naming the photo and where it uploads from', async () => {
  refuseUploads = true
  const bytes = await makeLargePhoto(900, 600)
  const files = photoFiles([{ name: 'late.jpg', bytes }])
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: 'Waiting for photos' }).waitFor({ timeout: 15_000 })
  const note = page.locator('ls-order-detail .notice.warn[role=note]')
  assert.match(await note.innerText(), /Waiting for 1 photo:\s*late\.jpg: on this device; it uploads while this app is open and online/)
  assert.is(await page.getByText(/relay/i).count(), 0, 'no customer text names the relay')
  await screenshot(page, 'customer-uploads-02-waiting')
  refuseUploads = false
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 40_000 })
  assert.is(await note.count(), 0)
  await screenshot(page, 'customer-uploads-03-received')
  removeDir(files.dir)
})

test.run()
