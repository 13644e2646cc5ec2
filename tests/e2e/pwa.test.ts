// The app as an installable PWA: its manifest and icons, a first visit under the JavaScript budget,
// a prompt when a new version is ready, keyboard and label basics, and signing out leaving nothing
// of the customer on the device.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { measure } from '../../web/report-size.ts'
import { makeScene, screenshot, serviceWorkerReady, signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let account: { email: string; password: string }

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  await stack?.close()
})

test('the manifest names the app, and its icons exist, a maskable one among them', async () => {
  const manifest = JSON.parse(readFileSync(join(stack.outDir, 'manifest.webmanifest'), 'utf8')) as {
    name: string; display: string; start_url: string; icons: Array<{ src: string; sizes: string; purpose?: string }>
  }
  assert.is(manifest.display, 'standalone')
  assert.is(manifest.start_url, '/')
  assert.ok(manifest.icons.some((icon) => icon.sizes === '192x192'))
  assert.ok(manifest.icons.some((icon) => icon.sizes === '512x512' && icon.purpose === 'maskable'))
  for (const icon of manifest.icons) assert.ok(existsSync(join(stack.outDir, icon.src)), `${icon.src} is in the build`)
  const html = readFileSync(join(stack.outDir, 'index.html'), 'utf8')
  assert.match(html, /<link rel="manifest" href="\/manifest.webmanifest">/)
})

test('a first visit loads under 150 KiB of JavaScript (gzip), service worker and precache included', () => {
  const report = measure(stack.outDir)
  assert.ok(report.page.length > 0, 'the entry script was found')
  assert.ok(report.serviceWorker.some((f) => f.file === 'sw.js'))
  assert.ok(report.totalGzip < 150 * 1024, `${(report.totalGzip / 1024).toFixed(1)} KiB`)
})

test('the app works by keyboard alone, and every control has a label', async () => {
  account = await signUpInApp(page, stack.appUrl)
  await serviceWorkerReady(page)
  // Tab from the top of the page to "New order" and press Enter.
  await page.keyboard.press('Tab')
  let found = false
  for (let i = 0; i < 10 && !found; i++) {
    found = await page.evaluate(() => {
      let active: Element | null = document.activeElement
      while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
      return active?.textContent?.trim() === 'New order'
    })
    if (!found) await page.keyboard.press('Tab')
  }
  assert.ok(found, '"New order" is reachable with Tab')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  // A string, not a function: the test runner's compiler would add helpers the page does not have.
  const unlabelled = await page.evaluate(`(() => {
    const missing = []
    const visit = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) visit(el.shadowRoot)
        if (!['INPUT', 'SELECT', 'BUTTON'].includes(el.tagName)) continue
        const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())
        if (!labelled) missing.push(el.outerHTML.slice(0, 80))
      }
    }
    visit(document)
    return missing
  })()`) as string[]
  assert.equal(unlabelled, [])
})

test('photos can be dropped onto an order', async () => {
  const jpeg = (await makeScene(7, 1800, 1200)).toString('base64')
  const dataTransfer = await page.evaluateHandle((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
    const transfer = new DataTransfer()
    transfer.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }))
    return transfer
  }, jpeg)
  const zone = page.locator('ls-compose .drop')
  await zone.dispatchEvent('dragover', { dataTransfer })
  await zone.dispatchEvent('drop', { dataTransfer })
  await page.locator('ls-photo-row').getByTitle('dropped.jpg').waitFor()
  await page.locator('ls-photo-row img.thumb').waitFor()
  await page.locator('[data-upload=done]').waitFor({ timeout: 15_000 })
  await screenshot(page, '16-dropped', false)
})

test('when a new version is ready, the app offers to reload into it', async () => {
  // A changed service worker is what a new deployment looks like to the browser.
  appendFileSync(join(stack.outDir, 'sw.js'), '\n// a new version\n')
  await page.reload()
  const prompt = page.getByText('A new version of the app is ready.')
  await prompt.waitFor({ timeout: 15_000 })
  await screenshot(page, '17-update-ready', false)
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Reload' }).click()])
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  assert.is(await prompt.count(), 0)
  const waiting = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting ?? null)
  assert.is(waiting, null, 'the new version took over')
})

test('when the relay ends the session, work stays on the device until the customer signs in again', async () => {
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session')!) as { token: string }).token)
  const res = await fetch(`${stack.relay.url}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
  assert.is(res.status, 200)
  await page.reload()
  await page.getByText('Your session has ended.').waitFor()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  await page.getByRole('link', { name: 'sign in again' }).click()
  await page.getByRole('heading', { name: 'Sign in again' }).waitFor()
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(account.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await until(async () => (await page.getByText('Your session has ended.').count()) === 0, 'the banner to go')
  const renewed = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session')!) as { token: string }).token)
  assert.is.not(renewed, token)
  await page.getByText('Online', { exact: true }).waitFor()
})

test('signing out removes the customer\'s data from the device; signing in brings the orders back', async () => {
  await page.getByRole('link', { name: 'Account' }).click()
  await page.getByRole('heading', { name: 'Account' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await screenshot(page, '18-sign-out-confirm')
  await page.getByRole('button', { name: 'Yes, sign out' }).click()
  await page.getByRole('button', { name: 'Create account' }).waitFor()
  await until(async () => (await page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((db) => db.name ?? '')
    return [...names, ...Object.keys(localStorage)].filter((name) => name.startsWith('labsync') || name.startsWith('tus::'))
  })).length === 0, 'no labsync databases or keys left')
  await screenshot(page, '19-signed-out')

  await page.getByRole('button', { name: 'I have an account' }).click()
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(account.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Your orders' }).waitFor()
  await page.locator('li', { hasText: 'New order' }).waitFor({ timeout: 10_000 })
})

test.run()
