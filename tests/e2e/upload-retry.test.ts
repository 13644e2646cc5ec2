// A relay that is out of disk (507) or busy (503) is not the photo's fault: the app keeps the photo,
// tells the customer the upload will try again by itself, waits as long as the relay's Retry-After
// asks, and then uploads it. The preview server in front of the relay answers the first two upload
// creations itself, as a full and then a busy relay would; everything else reaches the real relay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { makeScene, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Intercept, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''

/** When each upload creation (tus POST) arrived, and what it was answered. */
const creations: Array<{ at: number; status: number }> = []
const FULL_RETRY_AFTER_S = 3
const BUSY_RETRY_AFTER_S = 2

const fullThenBusy: Intercept = (req, res) => {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/api/uploads') return false
  const status = creations.length === 0 ? 507 : creations.length === 1 ? 503 : 0
  creations.push({ at: Date.now(), status: status || 201 })
  if (!status) return false
  const retryAfter = status === 507 ? FULL_RETRY_AFTER_S : BUSY_RETRY_AFTER_S
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after': String(retryAfter), 'tus-resumable': '1.0.0' })
  res.end(JSON.stringify({ error: status === 507 ? 'the relay is out of disk space; try again later' : 'the relay is busy; try again later' }))
  return true
}

test.before(async () => {
  stack = await startStack({ intercept: fullThenBusy })
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

test('a full relay (507), then a busy one (503): the customer is told it will retry, Retry-After is honoured, the photo arrives', async () => {
  await signUpInApp(page, stack.appUrl)
  const files = photoFiles([{ name: 'garden.jpg', bytes: await makeScene(11, 1600, 1200) }])
  photosDir = files.dir
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  await page.locator('input[type=file]').setInputFiles(files.paths)

  const upload = page.locator('ls-photo-row .upload')
  await page.locator('[data-upload=retrying]').waitFor({ timeout: 15_000 })
  assert.match(await upload.innerText(), /temporarily out of space for photos; the upload will try again by itself/)
  await screenshot(page, 'upload-retry-01-full')
  await until(async () => /is busy; the upload will try again by itself/.test(await upload.innerText()), 'the busy notice', 15_000)
  await page.locator('[data-upload=done]').waitFor({ timeout: 20_000 })

  assert.equal(creations.map((c) => c.status), [507, 503, 201], 'one creation refused as full, one as busy, then accepted')
  // Never final, and not retried before the relay said: the next attempt waits for Retry-After.
  const waited = [creations[1].at - creations[0].at, creations[2].at - creations[1].at]
  assert.ok(waited[0] >= FULL_RETRY_AFTER_S * 1000 - 100, `waited ${waited[0]} ms after the 507 (Retry-After ${FULL_RETRY_AFTER_S} s)`)
  assert.ok(waited[1] >= BUSY_RETRY_AFTER_S * 1000 - 100, `waited ${waited[1]} ms after the 503 (Retry-After ${BUSY_RETRY_AFTER_S} s)`)
  assert.match(await upload.innerText(), /Uploaded/)
})

test.run()
