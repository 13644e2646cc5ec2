// The in-store link and mixed content: a page served over https may not open a ws:// socket, so
// when the home store's lab node is at a ws:// address the app does not try, says so on the
// Account page, and ordering goes on through the relay. Real relay, real Chromium, real TLS.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { screenshot, signUpInApp } from './harness.ts'
import { freePort, startStoreStack, storeCatalog, type StoreStack } from './instore-helpers.ts'

let stack: StoreStack
let context: BrowserContext
let page: Page
let lanPort = 0
/** What the browser reported about insecure content and sockets to the store's address. */
const mixedContent: string[] = []
const storeSockets: string[] = []

test.before(async () => {
  lanPort = await freePort()
  stack = await startStoreStack(storeCatalog(`ws://127.0.0.1:${lanPort}`), { https: true })
  context = await stack.phone()
  page = await context.newPage()
  page.on('console', (message) => { if (/mixed content|insecure/i.test(message.text())) mixedContent.push(message.text()) })
  page.on('websocket', (socket) => { if (socket.url().includes(`:${lanPort}/`)) storeSockets.push(socket.url()) })
})

test.after(async () => {
  await stack?.close()
})

test('over https, a home store at a ws:// address is not tried, and the Account page says why', async () => {
  assert.match(stack.appUrl, /^https:/)
  await signUpInApp(page, stack.appUrl)
  await page.getByRole('link', { name: 'Account' }).click()
  await page.getByLabel('The store you usually order from').selectOption('station')
  await page.getByText('Station store\'s in-store link cannot be used from this secure page; ordering goes over the internet as usual.').waitFor()
  await page.reload()
  await page.getByText('Station store\'s in-store link cannot be used from this secure page').waitFor()
  // Long enough for several attempts, had the app made any.
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  assert.equal(mixedContent, [])
  assert.equal(storeSockets, [])
  assert.is(await page.locator('header .connection').innerText(), 'Online')
  assert.is(await page.locator('header .store-link').count(), 0)
  assert.is(await page.locator('.notice.error, .notice.warn').count(), 0)
  await screenshot(page, 'instore-https-01-not-tried')
})

test.run()
