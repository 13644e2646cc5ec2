// axe-core on the lab's operator console (`labsync lab … --console`), at 1366×900 and on a phone:
// the queue with an order and its thumbnails, the printers, today's history after a print with the
// reprint form open. (Without the token there is no page to check: the browser asks for it.) The page is built with Vite and served by the
// console in-process on the lab's real parts against a real relay (tests/integration/lab-console-stack.ts).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import { chromium, type Browser, type Page } from 'playwright-core'
import { removeDir, waitFor } from '../helpers/relay.ts'
import { buildAll } from './harness.ts'
import { assertNoViolations, type KnownViolation } from '../helpers/axe.ts'
import { OPERATOR_TOKEN, startConsoleStack, type ConsoleStack } from '../integration/lab-console-stack.ts'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** What a browser answers when the console asks for the operator token itself (HTTP Basic, the token as password). */
const OPERATOR_LOGIN = { username: 'operator', password: OPERATOR_TOKEN }

/** Violations seen and not fixed yet, with the file where each fix belongs. Keep it short. */
const KNOWN: readonly KnownViolation[] = []

let outDir = ''
let stack: ConsoleStack
let browser: Browser

test.before(async () => {
  try {
    outDir = await buildAll() // the test run's shared build, copied for this file
    if (!existsSync(join(outDir, 'console', 'index.html'))) throw new Error('the build has no console/index.html')
    stack = await startConsoleStack({ webDir: outDir })
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  } catch (error) {
    console.error('setting up the console a11y test failed:', error) // uvu does not report a failing hook
    throw error
  }
})

test.after(async () => {
  await browser?.close().catch(() => undefined)
  await stack?.close()
  if (outDir) removeDir(outDir)
})

/** The console as an operator opens it: the browser sends the token as Basic's password, no second sign-in. */
async function signedIn(viewport: { width: number; height: number }): Promise<Page> {
  const page = await (await browser.newContext({ viewport, locale: 'en-US', httpCredentials: OPERATOR_LOGIN })).newPage()
  await page.goto(`${stack.console.url}/`)
  await page.getByRole('heading', { name: 'Printers' }).waitFor({ timeout: 15_000 })
  return page
}

test('the queue with an order and its thumbnails, the printers; then today\'s history with the reprint form', async () => {
  const order = await stack.placeOrder(2)
  const page = await signedIn({ width: 1366, height: 900 })
  try {
    await page.getByRole('rowheader', { name: new RegExp(order.number) }).waitFor({ timeout: 15_000 })
    await page.locator('ls-console-thumb img').nth(1).waitFor({ timeout: 15_000 })
    await assertNoViolations(page, 'queue', KNOWN)
    const files = stack.printFiles().length
    await page.getByRole('button', { name: `Print order ${order.number}` }).click()
    await waitFor(() => stack.printFiles().length === files + 2, 'two print files', 20_000)
    await page.locator('ls-console-history article', { hasText: order.number }).waitFor({ timeout: 15_000 })
    await assertNoViolations(page, 'history', KNOWN)
    await page.getByRole('button', { name: `Reprint order ${order.number}…` }).click()
    await page.getByLabel('Reason (recorded in the history)').waitFor()
    await assertNoViolations(page, 'reprint form', KNOWN)
  } finally {
    await page.context().close()
  }
})

test('on a phone (390×844), the signed-in console', async () => {
  const page = await signedIn({ width: 390, height: 844 })
  try {
    await assertNoViolations(page, 'phone: signed in', KNOWN)
  } finally {
    await page.context().close()
  }
})

test.run()
