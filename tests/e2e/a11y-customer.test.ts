// axe-core on every customer screen, in a phone-sized Chromium: sign up, sign in, the empty order
// list, prices, composing with photos, an order's detail in each stage, the order list, the
// account, and offline. No serious or critical violation may appear that is not in KNOWN below
// (each one routed to the file where its fix belongs, and printed on every run).
import { test } from 'uvu'
import type { BrowserContext, Page } from 'playwright-core'
import { connect, synced } from '../helpers/relay.ts'
import { assertNoViolations, type KnownViolation } from '../helpers/axe.ts'
import { LAB_KEY, makeScene, photoFiles, removeDir, serviceWorkerReady, signUpInApp, startStack, until, type Stack } from './harness.ts'

/** Violations seen and not fixed yet, with the file where each fix belongs. Keep it short. */
const KNOWN: readonly KnownViolation[] = []

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let orderId = ''

test.before(async () => {
  try {
    stack = await startStack()
    context = await stack.phone()
    page = await context.newPage()
  } catch (error) {
    console.error('setting up the customer a11y test failed:', error) // uvu does not report a failing hook
    throw error
  }
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

const check = (screen: string) => assertNoViolations(page, screen, KNOWN)

test('sign up and sign in', async () => {
  await page.goto(stack.appUrl)
  await page.getByRole('button', { name: 'Create account' }).waitFor()
  await check('sign up')
  await page.getByRole('button', { name: 'I have an account' }).click()
  await page.getByRole('button', { name: 'Sign in' }).waitFor()
  await check('sign in')
})

test('the empty order list and the prices', async () => {
  await signUpInApp(page, stack.appUrl)
  await page.getByText('No orders yet.').waitFor()
  await serviceWorkerReady(page)
  await check('orders, empty')
  await page.getByRole('link', { name: 'Prices & stores' }).click()
  await page.getByRole('heading', { name: 'Station store' }).waitFor()
  await check('prices')
  await page.getByRole('link', { name: 'Orders' }).click()
})

test('an empty draft, then composing with two photos', async () => {
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  await check('compose, empty draft')
  const files = photoFiles([
    { name: 'beach.jpg', bytes: await makeScene(1, 2400, 1600) },
    { name: 'small-sunset.jpg', bytes: await makeScene(2, 640, 480) },
  ])
  photosDir = files.dir
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await until(async () => (await page.locator('[data-upload=done]').count()) === 2, 'both photos uploaded', 15_000)
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  await page.getByText('Estimated total').waitFor()
  await check('compose, two photos')
})

test('offline: the app\'s offline state and an order sent from the device', async () => {
  await context.setOffline(true)
  try {
    await offlineScreens()
  } finally {
    await context.setOffline(false)
  }
})

async function offlineScreens(): Promise<void> {
  await page.getByText('Offline', { exact: true }).waitFor()
  await check('compose, offline')
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: 'On this device only' }).waitFor()
  await check('order detail, on this device only')
  await page.reload()
  await page.getByRole('heading', { name: 'Order', exact: true }).waitFor()
  await check('order detail, offline reload')
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.locator('li', { hasText: 'On this device only' }).waitFor()
  await check('orders, offline')
}

test('an order\'s detail as it is received, printing and printed; the order list', async () => {
  await page.locator(`a[href="/orders/${orderId}"]`).click()
  await page.getByRole('heading', { name: 'Receipt' }).waitFor({ timeout: 15_000 })
  await check('order detail, received')
  // The detail as rendered (its shadow root's HTML): it changes when the lab's progress arrives.
  const rendered = () => page.locator('ls-order-detail').evaluate((el) => el.shadowRoot?.innerHTML ?? '')
  const { doc, provider } = connect(stack.relay, `order/${orderId}`, LAB_KEY)
  try {
    await synced(provider)
    for (const status of ['printing', 'printed']) {
      const before = await rendered()
      doc.transact(() => {
        doc.getMap('progress').set('status', status)
        doc.getMap('progress').set('updatedAt', new Date().toISOString())
      })
      await until(async () => (await rendered()) !== before, `the order to show ${status}`)
      await check(`order detail, ${status}`)
    }
  } finally {
    provider.destroy()
  }
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.getByRole('heading', { name: 'Your orders' }).waitFor()
  await page.locator(`a[href="/orders/${orderId}"]`).waitFor()
  await check('orders, one order')
})

test('the account', async () => {
  await page.getByRole('link', { name: 'Account' }).click()
  await page.getByRole('heading', { name: 'Account' }).waitFor()
  await check('account')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('button', { name: 'Yes, sign out' }).waitFor()
  await check('account, confirm sign out')
})

test.run()
