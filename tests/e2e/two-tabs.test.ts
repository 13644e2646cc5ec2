// One draft edited in two places at once converges: two tabs of one browser (they share the device's
// storage), and a second device signed in to the same account, whose edits meet through the relay
// after one of them was offline.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { BrowserContext, Page } from 'playwright-core'
import { makeScene, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let phone: BrowserContext
let tabA: Page
let tabB: Page
let photosDir = ''
let orderPath = ''
let account: { email: string; password: string }

test.before(async () => {
  stack = await startStack()
  phone = await stack.phone()
  tabA = await phone.newPage()
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

interface ItemState { size: string; copies: string; frame: string }

async function items(page: Page): Promise<ItemState[]> {
  const rows = page.locator('ls-photo-row')
  const states: ItemState[] = []
  for (let i = 0; i < await rows.count(); i++) {
    const row = rows.nth(i)
    states.push({
      size: await row.getByLabel('Size').inputValue(),
      copies: await row.getByLabel('Copies').inputValue(),
      frame: await row.getByLabel('Frame').inputValue(),
    })
  }
  return states
}

async function converged(pages: Page[], expected: ItemState[], store: string): Promise<void> {
  for (const page of pages) {
    await until(async () => JSON.stringify(await items(page)) === JSON.stringify(expected)
      && await page.getByLabel('Where you pick up the prints').inputValue() === store, `the draft to converge on ${page.url()}`)
  }
}

test('two tabs editing one draft at the same moment end up with both edits', async () => {
  account = await signUpInApp(tabA, stack.appUrl)
  const files = photoFiles([
    { name: 'harbour.jpg', bytes: await makeScene(3, 2400, 1600) },
    { name: 'garden.jpg', bytes: await makeScene(4, 2000, 1500) },
  ])
  photosDir = files.dir
  await tabA.getByRole('button', { name: 'New order' }).click()
  await tabA.locator('input[type=file]').setInputFiles(files.paths)
  await until(async () => (await tabA.locator('ls-photo-row').count()) === 2, 'two prints in tab A')
  orderPath = new URL(tabA.url()).pathname

  tabB = await phone.newPage()
  await tabB.goto(stack.appUrl + orderPath)
  await until(async () => (await tabB.locator('ls-photo-row').count()) === 2, 'two prints in tab B')

  // Different fields of the same draft, changed in both tabs without waiting for each other.
  await Promise.all([
    (async () => {
      await tabA.locator('ls-photo-row').nth(0).getByLabel('Copies').fill('4')
      await tabA.locator('ls-photo-row').nth(0).getByLabel('Copies').press('Tab')
      await tabA.getByLabel('Where you pick up the prints').selectOption('station')
    })(),
    (async () => {
      await tabB.locator('ls-photo-row').nth(1).getByLabel('Size').selectOption('5x7')
      await tabB.locator('ls-photo-row').nth(0).getByLabel('Frame').selectOption('white-border')
    })(),
  ])
  const expected = [
    { size: 'L', copies: '4', frame: 'white-border' },
    { size: '5x7', copies: '1', frame: 'plain' },
  ]
  await converged([tabA, tabB], expected, 'station')
  await screenshot(tabB, '14-second-tab')
})

test('a second device edits the draft while the first is offline; both edits meet through the relay', async () => {
  const laptop = await stack.phone()
  const device2 = await laptop.newPage()
  await device2.goto(stack.appUrl)
  await device2.getByRole('button', { name: 'I have an account' }).click()
  await device2.getByLabel('Email').fill(account.email)
  await device2.getByLabel('Password').fill(account.password)
  await device2.getByRole('button', { name: 'Sign in' }).click()
  await device2.locator(`a[href="${orderPath}"]`).click()
  await until(async () => (await device2.locator('ls-photo-row').count()) === 2, 'the draft on the second device')
  // Its thumbnails come from the relay's copies: the photos were never on this device.
  await device2.locator('ls-photo-row').nth(1).locator('img.thumb').waitFor()

  await phone.setOffline(true)
  await tabA.locator('ls-photo-row').nth(1).getByLabel('Copies').fill('2')
  await tabA.locator('ls-photo-row').nth(1).getByLabel('Copies').press('Tab')
  await device2.locator('ls-photo-row').nth(0).getByLabel('Size').selectOption('4x6')
  await device2.getByLabel('Where you pick up the prints').selectOption('mall')
  await tabA.waitForTimeout(300)
  assert.is((await items(tabA))[0].size, 'L', 'the offline device has not seen the other device\'s edit yet')

  await phone.setOffline(false)
  const expected = [
    { size: '4x6', copies: '4', frame: 'white-border' },
    { size: '5x7', copies: '2', frame: 'plain' },
  ]
  await converged([tabA, tabB, device2], expected, 'mall')
  await screenshot(device2, '15-second-device')
})

test.run()
