// A customer on a phone: signs up, composes an order with two real photos, goes offline, sends it,
// reloads offline and finds it (the service worker serves the app), comes back online and sees the
// relay's receipt arrive, then the lab's progress; reorders with the repeat discount expected.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { connect, synced } from '../helpers/relay.ts'
import { LAB_KEY, makeScene, photoFiles, removeDir, until, screenshot, serviceWorkerReady, signUpInApp, startStack, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let orderId = ''

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

test('a new customer signs up and lands on an empty order list', async () => {
  await signUpInApp(page, stack.appUrl)
  await page.getByText('No orders yet.').waitFor()
  await serviceWorkerReady(page)
  await screenshot(page, '01-orders-empty')
})

test('the catalog shows prices per store, frames and the discount rules said plainly', async () => {
  await page.getByRole('link', { name: 'Prices & stores' }).click()
  await page.getByText('Order again within 7 days: ¥200 off').waitFor()
  await page.getByText('Order again within 1 month: ¥100 off').waitFor()
  await page.getByRole('heading', { name: 'Station store' }).waitFor()
  assert.ok(await page.getByText('Service fee ¥100 per order.').isVisible())
  await screenshot(page, '02-prices')
  await page.getByRole('link', { name: 'Orders' }).click()
})

test('composing: two photos with thumbnails, a low-resolution warning, sizes, copies, store and an estimate', async () => {
  const files = photoFiles([
    { name: 'beach.jpg', bytes: await makeScene(1, 2400, 1600) },
    { name: 'small-sunset.jpg', bytes: await makeScene(2, 640, 480) },
  ])
  photosDir = files.dir
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  assert.match(orderId, /^[A-Za-z0-9_-]{20,}$/)
  await page.locator('input[type=file]').setInputFiles(files.paths)
  const rows = page.locator('ls-photo-row')
  await until(async () => (await rows.count()) === 2, 'two prints')
  await rows.nth(0).locator('img.thumb').waitFor()
  await rows.nth(1).locator('img.thumb').waitFor()
  // 640×480 on an L print is about 128 dpi: warned; 2400×1600 is fine.
  await rows.nth(1).getByText(/Low resolution for L 89×127 mm: about 128 dpi/).waitFor()
  assert.is(await rows.nth(0).getByText(/Low resolution/).count(), 0)
  await rows.nth(0).getByLabel('Copies').fill('3')
  await rows.nth(0).getByLabel('Copies').press('Tab')
  await rows.nth(0).getByLabel('Frame').selectOption('white-border')
  await rows.nth(1).getByLabel('Size').selectOption('4x6')
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  // L at the Central lab costs ¥35 (its own price), the postcard ¥60, the store's fee ¥100.
  await page.getByText('Estimated total').waitFor()
  const estimate = await page.locator('ls-compose table.lines').innerText()
  assert.match(estimate, /L 89×127 mm × 3\s+¥105/)
  assert.match(estimate, /Postcard 102×152 mm × 1\s+¥60/)
  assert.match(estimate, /Station store service fee\s+¥100/)
  assert.match(estimate, /Estimated total\s+¥265/)
  await until(async () => (await page.locator('[data-upload=done]').count()) === 2, 'both photos uploaded', 15_000)
  await screenshot(page, '03-compose')
})

test('offline: the order is sent from the device and reads "on this device only"', async () => {
  await context.setOffline(true)
  await page.getByText('Offline', { exact: true }).waitFor()
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.getByRole('heading', { name: 'Order', exact: true }).waitFor()
  await page.locator('.badge', { hasText: 'On this device only' }).waitFor()
  await screenshot(page, '04-sent-offline')
})

test('reloading offline, the service worker serves the app and the order is still there', async () => {
  await page.reload()
  await page.getByRole('heading', { name: 'Order', exact: true }).waitFor()
  await page.locator('.badge', { hasText: 'On this device only' }).waitFor()
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.locator('li', { hasText: 'On this device only' }).waitFor()
  await screenshot(page, '05-orders-offline-after-reload')
})

test('back online, the order goes out and the relay\'s receipt arrives with its lines', async () => {
  await context.setOffline(false)
  await page.locator(`a[href="/orders/${orderId}"]`).click()
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 15_000 })
  const receipt = await page.locator('ls-order-detail table.lines').innerText()
  assert.match(receipt, /L 89×127 mm × 3\s+¥105/)
  assert.match(receipt, /Total\s+¥265/)
  await screenshot(page, '06-receipt')
})

test('the lab\'s progress shows as it happens', async () => {
  const { doc, provider } = connect(stack.relay, `order/${orderId}`, LAB_KEY)
  try {
    await synced(provider)
    doc.getMap('progress').set('status', 'printing')
    doc.getMap('progress').set('updatedAt', new Date().toISOString())
    await page.getByText('Printing', { exact: true }).waitFor()
    doc.transact(() => {
      doc.getMap('progress').set('status', 'printed')
      doc.getMap('progress').set('updatedAt', new Date().toISOString())
    })
    await page.getByText('Printed', { exact: true }).waitFor()
    assert.is(await page.getByRole('button', { name: 'Cancel order' }).count(), 0, 'a printed order cannot be cancelled')
    await screenshot(page, '07-printed')
  } finally {
    provider.destroy()
  }
})

test('reorder copies the prints into a new draft, and the estimate expects the repeat discount', async () => {
  await page.getByRole('button', { name: 'Order these again' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  assert.is.not(new URL(page.url()).pathname, `/orders/${orderId}`)
  assert.is(await page.locator('ls-photo-row').count(), 2)
  await page.getByText(/Repeat-order discount \(your order of .+, within 7 days\)/).waitFor()
  const estimate = await page.locator('ls-compose table.lines').innerText()
  // Two levels (issue 16): the lab's ¥200 comes off its charge (3 × ¥35 + ¥60 = ¥165, so to ¥0),
  // never off the store's ¥100 fee, which its own rules alone may lower (it has none here).
  assert.match(estimate, /Estimated total\s+¥100/)
  await screenshot(page, '08-reorder-discount')
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.locator('li', { hasText: 'Draft' }).waitFor()
  await screenshot(page, '09-orders')
})

test.run()
