// A lab operator in a real Chromium on the console (`labsync lab … --console`): the page itself
// needs the operator token (HTTP Basic: a browser asks; no or a wrong token is 401), with it the
// queue shows the order's number and thumbnails (at 1280×800 and on a 390×844 phone), Print
// prints it through a folder printer, and the order then shows in today's history where it is
// marked ready. The page is the test run's shared Vite build; the console runs in-process on the lab's
// real parts against a real relay. Screenshots go to tests/.artifacts/screenshots/.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { removeDir, waitFor } from '../helpers/relay.ts'
import { buildAll } from './harness.ts'
import { OPERATOR_TOKEN, startConsoleStack, type ConsoleStack } from '../integration/lab-console-stack.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SCREENSHOTS = join(ROOT, 'tests', '.artifacts', 'screenshots')
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

let outDir = ''
let stack: ConsoleStack
let browser: Browser
let page: Page

test.before(async () => {
  try {
    outDir = await buildAll() // the test run's shared build, copied for this file
    if (!existsSync(join(outDir, 'console', 'index.html'))) throw new Error('the build has no console/index.html')
    stack = await startConsoleStack({ webDir: outDir })
    mkdirSync(SCREENSHOTS, { recursive: true })
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
    // What a browser is given once the operator typed the token into its password prompt (any user name).
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', httpCredentials: { username: 'operator', password: OPERATOR_TOKEN } })
    page = await context.newPage()
  } catch (error) {
    console.error('setting up the console page test failed:', error) // uvu does not report a failing hook
    throw error
  }
})

test.after(async () => {
  await browser?.close().catch(() => undefined)
  await stack?.close()
  if (outDir) removeDir(outDir)
})

/** Polls an async check (waitFor takes only synchronous ones) until it is true; fails naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Whether a fresh browser context sending `password` as Basic's (null: no credentials) is refused
 * the page: Chromium under Playwright ends such a navigation with ERR_INVALID_AUTH_CREDENTIALS
 * (its prompt is answered "cancel") rather than showing the 401 page.
 */
async function refused(password: string | null): Promise<boolean> {
  let context: BrowserContext | null = null
  try {
    context = await browser.newContext(password === null ? {} : { extraHTTPHeaders: { authorization: `Basic ${Buffer.from(`operator:${password}`).toString('base64')}` } })
    const page = await context.newPage()
    const outcome = await page.goto(`${stack.console.url}/`).then((res) => res?.status(), (error: Error) => error.message)
    return (outcome === 401 || /ERR_INVALID_AUTH_CREDENTIALS/.test(String(outcome))) && (await page.locator('ls-console-app').count()) === 0
  } finally {
    await context?.close()
  }
}

test('without the operator token, or with a wrong one, the page is 401; with it the queue shows the order with its thumbnails', async () => {
  assert.ok(await refused(null), 'no credentials')
  assert.ok(await refused('not-the-token'), 'a wrong token')
  const order = await stack.placeOrder(2)
  const opened = await page.goto(`${stack.console.url}/`)
  assert.is(opened?.status(), 200)
  await page.getByRole('rowheader', { name: new RegExp(order.number) }).waitFor({ timeout: 15_000 })
  assert.is(await page.getByLabel('Operator token').count(), 0, 'no second sign-in in the page')
  await page.locator('ls-console-thumb img').nth(1).waitFor({ timeout: 15_000 })
  const row = page.getByRole('row', { name: new RegExp(order.number) })
  assert.match(await row.innerText(), /× 2/)
  assert.match(await row.innerText(), /L 89x127 mm/)
  assert.match(await row.innerText(), /No frame/)
  await page.getByRole('heading', { name: 'Printers' }).waitFor()
  assert.match(await page.locator('ls-console-printers article').innerText(), /idle/)
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-queue.png'), fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-queue-phone.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 800 })
})

test('Print prints the order; it leaves the queue and shows in today\'s history, where it is marked ready', async () => {
  const number = await page.locator('ls-console-queue .number').first().innerText()
  const files = stack.printFiles().length
  await page.getByRole('button', { name: `Print order ${number}` }).click()
  await waitFor(() => stack.printFiles().length === files + 2, 'two print files', 20_000)
  const today = page.locator('ls-console-history article', { hasText: number })
  await today.waitFor({ timeout: 15_000 })
  await until(async () => !(await page.getByRole('row', { name: new RegExp(number) }).count()), 'the order out of the queue', 10_000)
  await page.getByRole('button', { name: `Order ${number} ready for pickup` }).click()
  await today.getByText(/ · ready$/).waitFor({ timeout: 15_000 })
  await page.getByRole('button', { name: `Reprint order ${number}…` }).click()
  await page.getByLabel('Reason (recorded in the history)').fill('colour cast')
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-history.png'), fullPage: true })
  await page.getByRole('button', { name: 'Reprint', exact: true }).click()
  await today.getByText(/reprint of item\(s\) 1, 2: colour cast/).waitFor({ timeout: 15_000 })
  await waitFor(() => stack.printFiles().length === files + 4, 'the two items printed again', 20_000)
  // The reprint, and each job it sent, are marked as such in today's history.
  await until(async () => (await today.locator('.reprint').count()) === 3, 'the reprint and its two jobs marked in the history', 15_000)
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-reprint.png'), fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-reprint-phone.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 800 })
})

test.run()
