// Stores as a customer needs them (issue 16 points 2 and 6): the price list before signing up
// (the relay's public GET /api/prices) with each store's address, hours and payment; choosing to
// collect at another store; the order then "Ready for pickup at" that store, with both stores shown.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import type * as Y from 'yjs'
import { connect, synced } from '../helpers/relay.ts'
import { CATALOG, LAB_KEY, makeScene, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Stack } from './harness.ts'

const CONFIG = {
  ...CATALOG,
  fronts: [
    { id: 'station', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'],
      address: '1-2-3 Ekimae, Chuo-ku', hours: 'Mon–Sat 10:00–19:00', payment: 'Pay at the counter when you collect: cash or card.' },
    { id: 'mall', name: 'Mall store', lab: 'lab-1', fee: 0, roles: ['reception', 'delivery'],
      address: 'Harbour Mall 2F', hours: 'Every day 10:00–21:00', payment: 'Pay at the counter: cash, card or IC card.' },
  ],
}

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let orderId = ''
let account = { email: '', password: '' }
const cleanups: Array<() => void> = []

test.before(async () => {
  stack = await startStack({ config: CONFIG })
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  for (const cleanup of cleanups) cleanup()
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

test('before signing up, the price list shows sizes, the lab\'s prices per store, the discounts and the stores', async () => {
  await page.goto(stack.appUrl)
  await page.getByRole('button', { name: 'Create account' }).waitFor()
  await page.getByRole('link', { name: 'Prices & stores' }).click()
  await page.getByRole('heading', { name: 'Station store' }).waitFor()
  const station = page.locator('ls-prices section', { has: page.getByRole('heading', { name: 'Station store' }) })
  // The lab behind both stores prints L at ¥35 (its own price), the postcard at the product's ¥60.
  assert.match(await station.innerText(), /L 89×127 mm\s+¥35/)
  assert.match(await station.innerText(), /Postcard 102×152 mm\s+¥60/)
  assert.match(await station.innerText(), /1-2-3 Ekimae, Chuo-ku/)
  assert.match(await station.innerText(), /Mon–Sat 10:00–19:00/)
  assert.match(await station.innerText(), /Pay at the counter when you collect/)
  await page.getByText('Order again within 7 days: ¥200 off').waitFor()
  await screenshot(page, 'customer-stores-01-public-prices')
  await page.getByRole('link', { name: 'Create an account or sign in' }).click()
  await page.getByRole('button', { name: 'Create account' }).waitFor()
})

/** The order document as its lab sees it (the lab writes progress). */
async function labCopy(): Promise<Y.Doc> {
  const { doc, provider } = connect(stack.relay, `order/${orderId}`, LAB_KEY)
  cleanups.push(() => provider.destroy())
  await synced(provider)
  return doc
}

test('ordered at one store, collected at another: both stores shown, then "Ready for pickup at" the other', async () => {
  account = await signUpInApp(page, stack.appUrl)
  const files = photoFiles([{ name: 'harbour.jpg', bytes: await makeScene(11, 2400, 1600) }])
  photosDir = files.dir
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  await page.getByText('Mon–Sat 10:00–19:00').waitFor()
  await page.getByLabel('Collect the prints at').selectOption('mall')
  await page.getByText('Every day 10:00–21:00').waitFor()
  await screenshot(page, 'customer-stores-02-compose')
  await page.locator('ls-photo-row').getByText('Uploaded', { exact: true }).waitFor({ timeout: 20_000 })
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 15_000 })
  const stores = page.locator('ls-order-detail section', { has: page.getByRole('heading', { name: 'Stores' }) })
  assert.match(await stores.innerText(), /Ordered at Station store/)
  assert.match(await stores.innerText(), /Collect at Mall store[\s\S]*Harbour Mall 2F/)
  const doc = await labCopy()
  for (const status of ['printing', 'printed', 'ready']) {
    doc.transact(() => {
      doc.getMap('progress').set('status', status)
      doc.getMap('progress').set('updatedAt', new Date().toISOString())
    })
  }
  await page.locator('.badge', { hasText: 'Ready for pickup at Mall store' }).waitFor()
  await until(async () => (await page.locator('ls-order-detail li.current', { hasText: 'Pickup at Mall store' }).count()) === 1, 'the pickup step current')
  await screenshot(page, 'customer-stores-03-ready-elsewhere')
  await page.getByRole('link', { name: 'Orders' }).click()
  const link = page.locator(`a[href="/orders/${orderId}"]`)
  await link.waitFor()
  assert.match(await link.innerText(), /Ready for pickup at Mall store/)
})

test('another device shows the same sign and steps, and never claims the order was saved on it', async () => {
  const laptop = await stack.phone()
  const other = await laptop.newPage()
  await other.goto(stack.appUrl)
  await other.getByRole('button', { name: 'I have an account' }).click()
  await other.getByLabel('Email').fill(account.email)
  await other.getByLabel('Password').fill(account.password)
  await other.getByRole('button', { name: 'Sign in' }).click()
  const link = other.locator(`a[href="/orders/${orderId}"]`)
  await link.waitFor()
  assert.match(await link.innerText(), /Ready for pickup at Mall store/)
  await link.click()
  await other.locator('.badge', { hasText: 'Ready for pickup at Mall store' }).waitFor()
  await other.locator('ls-order-detail li.current', { hasText: 'Pickup at Mall store' }).waitFor()
  const text = await other.locator('ls-order-detail').innerText()
  assert.not.match(text, /on this device/i)
  assert.not.match(text, /relay/i)
  await screenshot(other, 'customer-stores-04-other-device')
})

test.run()
