// The customer sees the order's number once the relay accepts it (the page title and the list,
// the date kept as secondary text), and the store's pickup: "Ready for pickup at <store>", then
// "Collected", as the lab writes them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import type * as Y from 'yjs'
import { connect, synced } from '../helpers/relay.ts'
import { LAB_KEY, makeScene, photoFiles, removeDir, until, screenshot, signUpInApp, startStack, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let orderId = ''
let number = ''
const cleanups: Array<() => void> = []

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  for (const cleanup of cleanups) cleanup()
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

/** The order document as its lab sees it (the lab writes progress). */
async function labCopy(): Promise<Y.Doc> {
  const { doc, provider } = connect(stack.relay, `order/${orderId}`, LAB_KEY)
  cleanups.push(() => provider.destroy())
  await synced(provider)
  return doc
}

test('an accepted order is titled by its number, the one on its receipt', async () => {
  await signUpInApp(page, stack.appUrl)
  const files = photoFiles([{ name: 'park.jpg', bytes: await makeScene(7, 2400, 1600) }])
  photosDir = files.dir
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await until(async () => (await page.locator('[data-upload=done]').count()) === 1, 'the photo uploaded', 15_000)
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 15_000 })
  const doc = await labCopy()
  number = String(doc.getMap('receipt').get('number') ?? '')
  assert.match(number, /^[2-9A-HJKMNP-TV-Z]{4}$/)
  await page.getByRole('heading', { name: `Order ${number}`, exact: true }).waitFor()
  await screenshot(page, 'order-number-01-title')
})

test('the list shows the number as the title and the date beside the store', async () => {
  await page.getByRole('link', { name: 'Orders' }).click()
  const item = page.locator('li', { hasText: `Order ${number}` })
  await item.waitFor()
  assert.match(await item.innerText(), /1 print · Station store · \w+ \d+, \d+:\d\d/)
  await item.locator('a').click()
})

test('"Ready for pickup at" the store, then "Collected"', async () => {
  const doc = await labCopy()
  for (const status of ['printing', 'printed', 'ready']) {
    doc.transact(() => {
      doc.getMap('progress').set('status', status)
      doc.getMap('progress').set('updatedAt', new Date().toISOString())
    })
  }
  await page.getByText('Ready for pickup at Station store', { exact: true }).waitFor()
  await screenshot(page, 'order-number-02-ready')
  doc.transact(() => {
    doc.getMap('progress').set('status', 'collected')
    doc.getMap('progress').set('updatedAt', new Date().toISOString())
  })
  await page.getByText('Collected', { exact: true }).waitFor()
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.locator('li', { hasText: `Order ${number}` }).getByText('Collected').waitFor()
})

test.run()
