// A photo upload cut half-way by going offline continues from where the relay got to (tus), not
// from the start; an order sent offline meanwhile is received once the photo is complete.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import type { BrowserContext, Page, Request } from 'playwright-core'
import { makeLargePhoto, photoFiles, removeDir, until, screenshot, signUpInApp, startStack, type Stack } from './harness.ts'

const CHUNK = 256 * 1024

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
const patches: Array<{ offset: number; at: number }> = []
const creations: number[] = []

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  // Each chunk takes a moment, as on a phone network, so the test can cut the connection mid-upload.
  await context.route('**/api/uploads/**', async (route) => {
    if (route.request().method() === 'PATCH') await new Promise((resolve) => setTimeout(resolve, 250))
    await route.continue().catch(() => undefined)
  })
  page = await context.newPage()
  page.on('request', (request: Request) => {
    const url = new URL(request.url())
    if (!url.pathname.startsWith('/api/uploads')) return
    if (request.method() === 'PATCH') patches.push({ offset: Number(request.headers()['upload-offset']), at: Date.now() })
    if (request.method() === 'POST') creations.push(Date.now())
  })
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

async function uploadPercent(): Promise<number> {
  const value = await page.locator('ls-photo-row progress').first().evaluate((el) => (el as HTMLProgressElement).value).catch(() => 0)
  return Number(value)
}

test('an upload cut by going offline resumes from the relay\'s offset and completes', async () => {
  await page.goto(stack.appUrl)
  await page.evaluate((chunk) => localStorage.setItem('labsync.upload-chunk-bytes', String(chunk)), CHUNK)
  await signUpInApp(page, stack.appUrl)
  const bytes = await makeLargePhoto()
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const files = photoFiles([{ name: 'big-holiday.jpg', bytes }])
  photosDir = files.dir

  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByLabel('Where you pick up the prints').selectOption('mall')
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await until(async () => (await uploadPercent()) >= 25, 'a quarter of the photo uploaded', 20_000)

  await context.setOffline(true)
  const cutAt = Date.now()
  await page.getByText(/Upload paused until you are online \(\d+% sent\)/).waitFor()
  await screenshot(page, '10-upload-paused')
  const sentBeforeCut = Math.max(...patches.filter((p) => p.at < cutAt).map((p) => p.offset))
  assert.ok(sentBeforeCut >= CHUNK, `some chunks were stored before the cut (${sentBeforeCut})`)
  assert.ok(sentBeforeCut < bytes.length, 'the upload was not complete when cut')

  // Sent while offline: the relay will wait for the photo before it receives the order.
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: 'On this device only' }).waitFor()
  await screenshot(page, '11-order-sent-offline-photo-pending')

  const creationsBefore = creations.length
  await context.setOffline(false)
  // The relay has the order but waits for the photo before receiving it: the badge says "Sent" until
  // the relay's waiting receipt arrives, then "Waiting for photos" (issue 16), often too soon to see the first.
  await page.locator('.badge', { hasText: /^(Sent|Waiting for photos)$/ }).waitFor()
  await page.getByText(/Waiting for 1 photo to finish uploading/).waitFor()
  await screenshot(page, '12-sent-waiting-for-photo', false)
  await page.getByText('Uploaded', { exact: true }).waitFor({ timeout: 30_000 })
  const resumed = patches.filter((p) => p.at > cutAt)
  assert.ok(resumed.length > 0, 'chunks were sent after reconnecting')
  assert.ok(resumed[0].offset > 0, `the first chunk after reconnecting starts at ${resumed[0].offset}, not at 0`)
  assert.ok(resumed[0].offset >= sentBeforeCut, 'nothing the relay already had was sent again')
  assert.is(creations.length, creationsBefore, 'no new upload was created: the old one was continued')

  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 20_000 })
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session')!) as { token: string }).token)
  const res = await fetch(`${stack.relay.url}/api/images/${sha256}`, { headers: { authorization: `Bearer ${token}` } })
  assert.is(res.status, 200)
  const stored = Buffer.from(await res.arrayBuffer())
  assert.is(createHash('sha256').update(stored).digest('hex'), sha256, 'the relay holds exactly the photo')
  await screenshot(page, '13-received-after-upload')
})

test('the original is dropped from the device once the relay has it', async () => {
  const kept = await page.evaluate(() => new Promise<number>((resolve, reject) => {
    const open = indexedDB.open('labsync-photos')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const all = open.result.transaction('photos').objectStore('photos').getAll()
      all.onsuccess = () => {
        resolve((all.result as Array<{ original: Blob | null; uploaded: boolean }>).filter((p) => p.original !== null || !p.uploaded).length)
        open.result.close()
      }
    }
  }))
  assert.is(kept, 0)
})

test.run()
