// A lab operator in a real Chromium on the console (`labsync lab … --console`): a wrong token is
// refused, the operator token signs in, the queue shows the order's number and thumbnails, Print
// prints it through a folder printer, and the order then shows in today's history where it is
// marked ready. The page is built with Vite's build(); the console runs in-process on the lab's
// real parts against a real relay. Screenshots go to tests/.artifacts/screenshots/.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { build } from 'vite'
import { chromium, type Browser, type Page } from 'playwright-core'
import { removeDir, waitFor } from '../helpers/relay.ts'
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
    outDir = mkdtempSync(join(tmpdir(), 'labsync-console-web-'))
    delete process.env.LABSYNC_WEB_ONLY
    await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } })
    if (!existsSync(join(outDir, 'console', 'index.html'))) throw new Error('the build has no console/index.html')
    stack = await startConsoleStack({ webDir: outDir })
    mkdirSync(SCREENSHOTS, { recursive: true })
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US' })
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

test('a wrong token is refused; the operator token signs in and the queue shows the order with its thumbnails', async () => {
  const order = await stack.placeOrder(2)
  await page.goto(`${stack.console.url}/`)
  await page.getByLabel('Operator token').fill('not-the-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'not the operator token' }).waitFor({ timeout: 10_000 })
  await page.getByLabel('Operator token').fill(OPERATOR_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('rowheader', { name: new RegExp(order.number) }).waitFor({ timeout: 15_000 })
  await page.locator('ls-console-thumb img').nth(1).waitFor({ timeout: 15_000 })
  const row = page.getByRole('row', { name: new RegExp(order.number) })
  assert.match(await row.innerText(), /× 2/)
  assert.match(await row.innerText(), /L 89x127 mm/)
  assert.match(await row.innerText(), /No frame/)
  await page.getByRole('heading', { name: 'Printers' }).waitFor()
  assert.match(await page.locator('ls-console-printers article').innerText(), /idle/)
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-queue.png'), fullPage: true })
})

test('Print prints the order; it leaves the queue and shows in today\'s history, where it is marked ready', async () => {
  const number = await page.locator('ls-console-queue .number').first().innerText()
  const files = stack.printFiles().length
  await page.getByRole('button', { name: `Print order ${number}` }).click()
  await waitFor(() => stack.printFiles().length === files + 2, 'two print files', 20_000)
  const today = page.locator('ls-console-history article', { hasText: number })
  await today.waitFor({ timeout: 15_000 })
  await waitFor(async () => !(await page.getByRole('row', { name: new RegExp(number) }).count()), 'the order out of the queue', 10_000)
  await page.getByRole('button', { name: `Order ${number} ready for pickup` }).click()
  await today.getByText(/ · ready$/).waitFor({ timeout: 15_000 })
  await page.getByRole('button', { name: `Reprint order ${number}…` }).click()
  await page.getByLabel('Reason (recorded in the history)').fill('colour cast')
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-history.png'), fullPage: true })
  await page.getByRole('button', { name: 'Reprint', exact: true }).click()
  await today.getByText(/reprint of item\(s\) 1, 2: colour cast/).waitFor({ timeout: 15_000 })
  await waitFor(() => stack.printFiles().length === files + 4, 'the two items printed again', 20_000)
  await page.screenshot({ path: join(SCREENSHOTS, 'lab-console-reprint.png'), fullPage: true })
})

test.run()
