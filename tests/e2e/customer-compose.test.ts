// The composer as a customer on a phone uses it (issue 16 points 3 and 6, issue 17's customer
// screens): the print's shape with its frame and a crop the order keeps, copies that say what is
// wrong, choices applied to all, honest low-resolution advice, dropped names kept, HEIC explained,
// the pickup store, controls named with their photo, and controls that grow with the browser font.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import type { BrowserContext, Page } from 'playwright-core'
import { cropRect, isCrop, orientPrint } from '../../shared/crop.ts'
import { connect, synced } from '../helpers/relay.ts'
import { makeScene, photoFiles, removeDir, screenshot, signUpInApp, startStack, until, type Stack } from './harness.ts'

let stack: Stack
let context: BrowserContext
let page: Page
let photosDir = ''
let orderId = ''

test.before(async () => {
  stack = await startStack()
  context = await stack.phone()
  page = await context.newPage()
})

test.after(async () => {
  await stack?.close()
  if (photosDir) removeDir(photosDir)
})

/** The customer's session token, as the app keeps it on the device. */
async function customerToken(): Promise<string> {
  return page.evaluate(() => (JSON.parse(localStorage.getItem('labsync.session') ?? '{}') as { token: string }).token)
}

/** The order's spec as the relay holds it, read with the customer's own token (a draft is theirs alone). */
async function specAtRelay(): Promise<Record<string, unknown>> {
  const { doc, provider } = connect(stack.relay, `order/${orderId}`, await customerToken())
  try {
    await synced(provider)
    return doc.getMap('spec').toJSON()
  } finally {
    provider.destroy()
  }
}

async function itemsAtRelay(): Promise<Array<Record<string, unknown>>> {
  return ((await specAtRelay()).items ?? []) as Array<Record<string, unknown>>
}

test('each print shows the photo in the print\'s shape: a 3:4 photo on a postcard, a landscape one turned', async () => {
  const files = photoFiles([
    { name: 'portrait.jpg', bytes: await makeScene(3, 1500, 2000) },
    { name: 'small-sunset.jpg', bytes: await makeScene(2, 640, 480) },
  ])
  photosDir = files.dir
  await signUpInApp(page, stack.appUrl)
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  orderId = new URL(page.url()).pathname.split('/').pop()!
  await page.locator('input[type=file]').setInputFiles(files.paths)
  const rows = page.locator('ls-photo-row')
  await until(async () => (await rows.count()) === 2, 'two prints')
  await page.getByLabel('Where you pick up the prints').selectOption('station')
  const preview = rows.nth(0).locator('ls-crop-preview .print')
  await preview.waitFor()
  await rows.nth(0).getByLabel('Size').selectOption('4x6')
  // L is 89×127; the postcard 102×152: the preview has the postcard's shape, upright like the photo.
  await until(async () => {
    const box = await preview.boundingBox()
    return box !== null && Math.abs(box.width / box.height - 102 / 152) < 0.02
  }, 'the preview in the postcard\'s shape')
  const turned = await rows.nth(1).locator('ls-crop-preview .print').boundingBox()
  assert.ok(turned && turned.width > turned.height, 'a landscape photo prints landscape')
  await screenshot(page, 'customer-01-previews')
})

test('the crop moves with the arrow keys and zooms with +, and the order keeps it for the lab', async () => {
  const row = page.locator('ls-photo-row').nth(0)
  await row.getByRole('button', { name: 'Crop portrait.jpg' }).click()
  const editor = row.getByRole('group', { name: /Print of portrait\.jpg: drag/ })
  await editor.focus()
  await page.keyboard.press('+')
  await page.keyboard.press('+')
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft')
  await page.keyboard.press('ArrowUp')
  let crop: unknown
  await until(async () => {
    crop = (await itemsAtRelay())[0]?.crop
    return isCrop(crop) && crop !== 'fit'
  }, 'the crop at the relay')
  const box = crop as { x: number; y: number; w: number; h: number }
  // Zoomed in twice (1.2 × 1.2) from the full fill, then moved left and up: less than the fill, off centre.
  const fill = cropRect(1500, 2000, 102, 152)
  const rect = cropRect(1500, 2000, 102, 152, box)
  assert.ok(rect.width < fill.width * 0.75, JSON.stringify({ rect, fill }))
  assert.ok(rect.left < fill.left + (fill.width - rect.width) / 2, 'moved left of centre')
  const o = orientPrint(1500, 2000, 102, 152)
  assert.ok(Math.abs(rect.width - (o.width / o.height) * rect.height) <= 1, 'the print\'s aspect')
  await screenshot(page, 'customer-02-crop')
})

test('"Fit whole photo" stores "fit" and shows white bands; Reset goes back to the centred fill', async () => {
  const row = page.locator('ls-photo-row').nth(0)
  await row.getByRole('button', { name: 'Fit whole photo portrait.jpg' }).click()
  await until(async () => (await itemsAtRelay())[0]?.crop === 'fit', 'crop "fit" at the relay')
  assert.is(await row.getByRole('button', { name: 'Fit whole photo portrait.jpg' }).getAttribute('aria-pressed'), 'true')
  await screenshot(page, 'customer-03-fit')
  await row.getByRole('button', { name: 'Reset crop of portrait.jpg' }).click()
  await until(async () => !('crop' in ((await itemsAtRelay())[0] ?? {})), 'no crop key: the default fill')
})

test('dragging the photo with the mouse moves the crop the other way', async () => {
  const row = page.locator('ls-photo-row').nth(0)
  const editor = row.getByRole('group', { name: /Print of portrait\.jpg: drag/ })
  // In the middle of the screen, clear of the sticky header.
  await editor.evaluate((el) => el.scrollIntoView({ block: 'center' }))
  const box = (await editor.boundingBox())!
  const fill = cropRect(1500, 2000, 102, 152)
  // Pulling the photo to the left shows more of its right side.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width / 2 - 40, box.y + box.height / 2, { steps: 5 })
  await page.mouse.up()
  let crop: unknown
  await until(async () => {
    crop = (await itemsAtRelay())[0]?.crop
    return isCrop(crop) && crop !== 'fit'
  }, 'the dragged crop at the relay')
  const rect = cropRect(1500, 2000, 102, 152, crop as { x: number; y: number; w: number; h: number })
  assert.ok(rect.left > fill.left, JSON.stringify({ rect, fill }))
  assert.ok(Math.abs(rect.width - fill.width) <= 1, 'a drag does not zoom (to a pixel of rounding)')
  await row.getByRole('button', { name: 'Reset crop of portrait.jpg' }).click()
  await until(async () => !('crop' in ((await itemsAtRelay())[0] ?? {})), 'back to the default fill')
  await row.getByRole('button', { name: 'Done cropping portrait.jpg' }).click()
})

test('copies out of 1-99 are refused with a visible message that keeps what was typed', async () => {
  const copies = page.locator('ls-photo-row').nth(0).getByLabel('Copies')
  for (const typed of ['0', '1000', '2.5', '-3']) {
    await copies.fill(typed)
    await copies.press('Tab')
    const message = page.locator('ls-photo-row').nth(0).getByRole('alert')
    await message.waitFor()
    assert.match(await message.innerText(), /Copies must be a whole number from 1 to 99/)
    assert.is(await copies.inputValue(), typed, 'the typed value stays to be fixed')
    assert.is(await copies.getAttribute('aria-invalid'), 'true')
  }
  await screenshot(page, 'customer-04-copies-error', false)
  await copies.fill('4')
  await copies.press('Tab')
  await until(async () => (await page.locator('ls-photo-row').nth(0).getByRole('alert').count()) === 0, 'the message to go')
  await until(async () => (await itemsAtRelay())[0]?.qty === 4, 'four copies at the relay')
})

test('"Use these choices for all photos" copies size, copies and frame to every print', async () => {
  const rows = page.locator('ls-photo-row')
  await rows.nth(0).getByLabel('Frame').selectOption('white-border')
  await rows.nth(0).getByRole('button', { name: /Use these choices for all photos/ }).click()
  await until(async () => await rows.nth(1).getByLabel('Size').inputValue() === '4x6'
    && await rows.nth(1).getByLabel('Copies').inputValue() === '4'
    && await rows.nth(1).getByLabel('Frame').inputValue() === 'white-border', 'the second print to follow')
})

test('low-resolution advice names a size that prints sharp, or says none does', async () => {
  const row = page.locator('ls-photo-row').nth(1)
  // 640×480 on a postcard (~106 dpi): no size in the list reaches 150 dpi, L comes closest; never "a smaller size helps".
  const note = row.getByRole('note')
  await note.waitFor()
  assert.match(await note.innerText(), /No size in the list prints it sharp; L 89×127 mm comes closest \(about 128 dpi\)/)
  assert.not.match(await note.innerText(), /smaller size helps/)
  await screenshot(page, 'customer-05-low-resolution', false)
})

test('each print\'s controls are named with its photo; the estimate\'s lines name the photo', async () => {
  await page.getByRole('combobox', { name: 'Size for portrait.jpg' }).waitFor()
  await page.getByRole('combobox', { name: 'Frame for small-sunset.jpg' }).waitFor()
  await page.getByRole('textbox', { name: 'Copies for small-sunset.jpg' }).waitFor()
  await page.getByRole('button', { name: 'Remove small-sunset.jpg' }).waitFor()
  const lines = await page.locator('ls-compose table.lines').innerText()
  assert.match(lines, /portrait\.jpg · Postcard 102×152 mm × 4/)
  assert.match(lines, /small-sunset\.jpg · Postcard 102×152 mm × 4/)
})

test('the pickup store can be another store that hands prints over', async () => {
  await page.getByLabel('Collect the prints at').selectOption('mall')
  await until(async () => (await specAtRelay()).pickupFront === 'mall', 'pickupFront at the relay')
  await screenshot(page, 'customer-06-stores')
})

test('a dropped PNG keeps its name; a HEIC photo is explained', async () => {
  const png = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#3a7' } }).png().toBuffer()
  const transfer = await page.evaluateHandle(([pngBytes]) => {
    const data = new DataTransfer()
    data.items.add(new File([new Uint8Array(pngBytes)], 'dropped.png', { type: 'image/png' }))
    data.items.add(new File([new Uint8Array([0, 0, 0, 24, 102, 116, 121, 112, 104, 101, 105, 99])], 'IMG_0001.HEIC', { type: '' }))
    return data
  }, [[...png]])
  await page.locator('ls-compose .drop').dispatchEvent('drop', { dataTransfer: transfer })
  await page.locator('ls-photo-row').getByTitle('dropped.png').waitFor()
  const notice = page.locator('ls-compose .notice.warn[role=alert]')
  await notice.waitFor()
  assert.match(await notice.innerText(), /IMG_0001\.HEIC is a HEIC photo .* cannot open/)
  await screenshot(page, 'customer-07-dropped-heic', false)
})

test('an empty draft\'s Send button points at no missing element', async () => {
  await page.getByRole('link', { name: 'Orders' }).click()
  await page.getByRole('button', { name: 'New order' }).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
  const send = page.getByRole('button', { name: 'Send order' })
  const target = await send.getAttribute('aria-describedby')
  if (target) assert.is(await page.locator(`ls-compose #${target}`).count(), 1, `#${target} exists`)
  await page.getByRole('button', { name: 'Discard draft' }).click()
  await page.getByRole('button', { name: 'Yes, discard the draft' }).click()
})

test('an order in the list is announced with its sign, store and price', async () => {
  await page.getByRole('heading', { name: 'Your orders' }).waitFor()
  const link = page.locator(`a[href="/orders/${orderId}"]`)
  await link.waitFor()
  assert.is(await link.getAttribute('aria-label'), null)
  const name = await link.evaluate((a) => (a as HTMLElement).innerText)
  assert.match(name, /Draft/)
  assert.match(name, /Station store/)
  assert.match(name, /¥\d+/)
  await screenshot(page, 'customer-08-list')
})

test('with a larger browser font the controls grow too', async () => {
  await link(orderId)
  const send = page.getByRole('button', { name: 'Send order' })
  const before = (await send.boundingBox())!.height
  const size = page.locator('ls-photo-row').nth(0).getByLabel('Size')
  const sizeBefore = await size.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
  // What "very large" in the browser's settings does: the root font size doubles.
  await page.addStyleTag({ content: 'html { font-size: 32px !important; }' })
  await until(async () => ((await send.boundingBox())?.height ?? 0) >= before * 1.6, 'the Send button to grow')
  assert.ok(await size.evaluate((el) => parseFloat(getComputedStyle(el).fontSize)) >= sizeBefore * 1.8, 'the size select\'s text grows')
  await screenshot(page, 'customer-09-large-font', false)
})

async function link(id: string): Promise<void> {
  await page.locator(`a[href="/orders/${id}"]`).click()
  await page.getByRole('heading', { name: 'New order' }).waitFor()
}

test.run()
