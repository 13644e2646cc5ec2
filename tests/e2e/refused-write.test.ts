// A device whose write the relay refused is not stuck with it. Yjs numbers each client's changes,
// so once the relay refuses one, it refuses every later change of that client too, a cancel
// included. The app throws its copy of the order away, takes the relay's again (a new client id),
// tells the customer what was refused, and a cancel from the app then reaches the relay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { connect, synced } from '../helpers/relay.ts'
import { LAB_KEY, makeScene, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let photoPaths: string[] = []
let orderId = ''
let clientBefore = 0

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

/** The app's own Y.Doc of the order on screen, read or changed inside the page. */
async function inAppDoc<T>(id: string, action: 'read' | 'move-store'): Promise<T> {
  return page.evaluate(([id, action]) => {
    type AppDoc = { clientID: number; getMap(name: string): { get(key: string): unknown; set(key: string, value: unknown): void; toJSON(): object } }
    const app = document.querySelector('labsync-app')!.shadowRoot!
    const orderPage = app.querySelector('ls-order-page') as unknown as { services: { workspace: { orderLink(id: string): { doc: AppDoc } | undefined } } }
    const doc = orderPage.services.workspace.orderLink(id)?.doc
    if (!doc) return null
    // The order was submitted and received: the relay refuses any change to its spec but a cancel.
    if (action === 'move-store') doc.getMap('spec').set('front', 'mall')
    return { clientID: doc.clientID, front: doc.getMap('spec').get('front'), state: doc.getMap('spec').get('state'), receipt: doc.getMap('receipt').toJSON() }
  }, [id, action] as const) as Promise<T>
}

/** What the relay holds of the order (read as the lab it is assigned to, or as the customer). */
async function atRelay(id: string, check: (spec: Record<string, unknown>) => boolean, what: string, token = LAB_KEY): Promise<Record<string, unknown>> {
  const { doc, provider } = connect(stack.relay, `order/${id}`, token)
  try {
    await synced(provider)
    await until(() => check(doc.getMap('spec').toJSON()), what, 10_000)
    return doc.getMap('spec').toJSON()
  } finally {
    provider.destroy()
  }
}

test('an order sent from the app is received by the relay', async () => {
  await signUpInApp(page, stack.appUrl)
  const files = photoFiles([{ name: 'harbour.jpg', bytes: await makeScene(7, 1800, 1200) }])
  photosDir = files.dir
  photoPaths = files.paths
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  await page.locator('input[type=file]').setInputFiles(files.paths)
  await page.locator('[data-upload=done]').waitFor({ timeout: 15_000 })
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  await page.getByRole('button', { name: 'Send order' }).click()
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor({ timeout: 15_000 })
  clientBefore = (await inAppDoc<{ clientID: number }>(orderId, 'read')).clientID
})

test('a change the relay refuses is shown to the customer in words, and the order is put back as the relay has it', async () => {
  await inAppDoc(orderId, 'move-store')
  const notice = page.locator('ls-order-page .refusal')
  await notice.waitFor({ timeout: 10_000 })
  assert.match(await notice.innerText(), /Your last change to this order was not accepted: the order is submitted; its spec can no longer be changed\. The order is shown as the print service has it\./)
  // The copy on this device is the relay's again, in a new document with a new client id.
  await until(async () => {
    const now = await inAppDoc<{ clientID: number; front: string; state: string } | null>(orderId, 'read')
    return now !== null && now.clientID !== clientBefore && now.front === 'station' && now.state === 'submitted'
  }, 'the order reset to the relay\'s copy')
  await page.getByText('Store: Station store').waitFor()
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor()
  await screenshot(page, 'refused-01-notice')
})

test('after the refusal, a cancel from the app reaches the relay', async () => {
  await page.getByRole('button', { name: 'Cancel order' }).click()
  await page.getByRole('button', { name: 'Yes, cancel the order' }).click()
  const spec = await atRelay(orderId, (spec) => spec.state === 'cancelled', 'the relay\'s order to be cancelled')
  assert.is(spec.state, 'cancelled')
  assert.is(spec.front, 'station', 'the refused change never reached the relay')
  await page.locator('.badge', { hasText: 'Cancelled' }).waitFor()
})

test('the notice survives a reload (the copy on this device is the relay\'s), and can be dismissed', async () => {
  await page.reload()
  const notice = page.locator('ls-order-page .refusal')
  await notice.waitFor()
  await page.locator('.badge', { hasText: 'Cancelled' }).waitFor()
  assert.is((await inAppDoc<{ front: string }>(orderId, 'read')).front, 'station')
  await notice.getByRole('button', { name: 'Dismiss' }).click()
  await until(async () => (await notice.count()) === 0, 'the notice to go')
  await page.reload()
  await page.locator('.badge', { hasText: 'Cancelled' }).waitFor()
  assert.is(await page.locator('ls-order-page .refusal').count(), 0)
})

test('a change made offline to an order the customer sent from another device meanwhile: refused, put back, and it can still be cancelled', async () => {
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  const draftId = new URL(page.url()).pathname.split('/').pop()!
  // The same photo again: already at the relay, so no second upload.
  await page.locator('input[type=file]').setInputFiles(photoPaths)
  await page.locator('ls-photo-row').getByText('Uploaded', { exact: true }).waitFor({ timeout: 15_000 })
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  // The customer's token, as their other device would use it (no lab may read a draft).
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session')!) as { token: string }).token)
  await atRelay(draftId, (spec) => spec.front === 'station', 'the draft at the relay', token)

  // This phone goes offline and adds a copy; the customer's other device sends the order as it was.
  await context.setOffline(true)
  await page.getByText('Offline', { exact: true }).waitFor()
  await page.getByRole('button', { name: 'One copy more' }).click()
  const other = connect(stack.relay, `order/${draftId}`, token)
  try {
    await synced(other.provider)
    other.doc.getMap('spec').set('state', 'submitted')
    await until(() => other.doc.getMap('receipt').size > 0, 'the relay\'s receipt', 10_000)
  } finally {
    other.provider.destroy()
  }

  // Back online the phone's extra copy is refused; it shows the order as the relay received it.
  await context.setOffline(false)
  const notice = page.locator('ls-order-page .refusal')
  await notice.waitFor({ timeout: 15_000 })
  assert.match(await notice.innerText(), /not accepted: the order is submitted; its spec can no longer be changed/)
  await page.locator('.badge', { hasText: /^Received$/ }).waitFor()
  assert.match(await page.locator('ls-order-detail table.lines').innerText(), /L 89×127 mm × 1\s/)
  await screenshot(page, 'refused-02-offline-edit')

  await page.getByRole('button', { name: 'Cancel order' }).click()
  await page.getByRole('button', { name: 'Yes, cancel the order' }).click()
  const spec = await atRelay(draftId, (spec) => spec.state === 'cancelled', 'the relay\'s order to be cancelled')
  assert.is(spec.state, 'cancelled')
})

test.run()
