// The customer app reaches the relay over one socket (issue 19 point 3): the catalog, the
// customer's own document and their orders are rooms on one `/sync-mux` WebSocket, never a
// `/sync/<room>` socket each.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
const opened: string[] = []
let open = 0

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
  page.on('websocket', (ws) => {
    opened.push(new URL(ws.url()).pathname)
    open++
    ws.on('close', () => open--)
  })
})

test.after(async () => {
  await stack?.close()
})

test('a signed-in customer with a new order holds one socket to the relay, on /sync-mux', async () => {
  await signUpInApp(page, stack.appUrl)
  await page.getByRole('button', { name: 'New order' }).click()
  await until(async () => page.url().includes('/order'), 'the order page')
  await until(async () => open === 1, `one open socket (${open} open: ${opened.join(', ')})`)
  assert.ok(opened.length > 0)
  assert.equal([...new Set(opened)], ['/sync-mux'], opened.join(', '))
})

test.run()
