// An admin in a real Chromium on /admin/: refused with a wrong token, signs in with the admin
// token, sees the labs' status and the charts, pages through receipts, filters by lab, switches
// to printing history, downloads the CSV, stays signed in on reload and signs out. The app is the
// test run's shared full build (harness.buildAll), served with the admin API in-process.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ADMIN_TOKEN, LAB_KEYS, historyEntry, reception, startAdminServer, type AdminServer } from '../helpers/admin.ts'
import { removeDir } from '../helpers/relay.ts'
import { parseCsv } from '../helpers/csv.ts'
import { buildAll } from './harness.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SCREENSHOTS = join(ROOT, 'tests', '.artifacts', 'screenshots')
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const DAY = 86_400_000
const RECEPTIONS = 120

/** The whole web app, the admin page included: a copy of the run's shared build, ours to remove. */
async function buildWithAdmin(): Promise<string> {
  const dir = await buildAll()
  if (!existsSync(join(dir, 'admin', 'index.html'))) throw new Error('the build has no admin/index.html')
  return dir
}

let outDir = ''
let server: AdminServer
let browser: Browser
let page: Page

test.before(async () => {
  try {
    await setUp()
  } catch (error) {
    console.error('setting up the admin page test failed:', error) // uvu does not report a failing hook
    throw error
  }
})

async function setUp(): Promise<void> {
  outDir = await buildWithAdmin()
  server = await startAdminServer({ webDir: outDir, queueLength: (lab) => (lab === 'lab-1' ? 3 : 0), lastSeen: () => Date.now() - 60_000 })
  // Ten days of orders: 120 receptions, every third one discounted, lab-2 for one in four.
  const now = Date.now()
  server.db.transaction(() => {
    for (let i = 0; i < RECEPTIONS; i++) {
      const lab2 = i % 4 === 0
      server.receptions.record(reception({
        order: `order-${String(i).padStart(3, '0')}`, user: `user-${i % 7}`, front: lab2 ? 'harbour' : 'station', lab: lab2 ? 'lab-2' : 'lab-1',
        receivedAt: new Date(now - (10 - Math.floor(i / 12)) * DAY + i * 60_000),
        discount: i % 3 === 1 ? { previousOrder: `order-${String(i - 1).padStart(3, '0')}`, previousReceivedAt: new Date(now - 11 * DAY).toISOString(), within: 'P7D', amount: 200 } : null,
      }), [])
    }
  })()
  for (const lab of ['lab-1', 'lab-2']) {
    const orders = Array.from({ length: RECEPTIONS }, (_, i) => i).filter((i) => (i % 4 === 0) === (lab === 'lab-2'))
    server.history.record(lab, orders.map((i) => historyEntry({
      id: `${lab}:order-${i}:1`, order: `order-${String(i).padStart(3, '0')}`, copies: 1 + (i % 3),
      printedAt: new Date(now - (10 - Math.floor(i / 12)) * DAY + i * 60_000 + 600_000).toISOString(),
    })), new Date(now - 3600_000))
  }
  mkdirSync(SCREENSHOTS, { recursive: true })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Tokyo', acceptDownloads: true })
  page = await context.newPage()
}

test.after(async () => {
  await browser?.close().catch(() => undefined)
  await server?.close()
  if (outDir) removeDir(outDir)
})

test('a customer or lab token, or a wrong one, does not open the admin page', async () => {
  await page.goto(`${server.url}/admin/`)
  for (const token of ['not-a-token', LAB_KEYS['lab-1']]) {
    await page.getByLabel('Admin token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('That is not an admin token of this relay.').waitFor()
  }
})

test('signed in: labs with their queue, charts of the last 30 days, the first page of receipts', async () => {
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Receipts and discounts' }).waitFor()
  const lab1 = page.locator('ls-admin-labs li[data-lab="lab-1"]')
  await lab1.getByText('Central lab').waitFor()
  assert.is(await lab1.locator('.queue').textContent(), '3')
  await page.locator('ls-admin-receipts tbody tr').first().waitFor()
  assert.is(await page.locator('ls-admin-receipts tbody tr').count(), 50)
  // The period's totals (all pages), and a deduction shown negative as on the receipt (issue 16).
  assert.match(await page.locator('[data-totals]').textContent() ?? '', /120 accepted orders · revenue ¥[\d,]+ · lab discounts -¥[\d,]+ · store discounts ¥0/)
  assert.match(await page.locator('ls-admin-receipts tbody tr[data-order="order-001"] td.num').nth(1).textContent() ?? '', /^-¥170$/)
  // Prints per lab, orders and discounts: bars drawn, one tooltip per day.
  const charts = page.locator('ls-admin-bar-chart')
  assert.is(await charts.count(), 3)
  assert.ok(await charts.nth(0).locator('rect.bar').count() >= 10)
  assert.is(await charts.nth(0).locator('g.day').count(), 30)
  assert.ok(await charts.nth(2).locator('rect.bar').count() >= 10)
  await charts.nth(0).locator('.legend').getByText('Harbour lab').waitFor() // the legend names each lab
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-01-receipts.png'), fullPage: true })
})

test('paging: next and previous walk the receipts without repeats', async () => {
  const orders = async () => page.locator('ls-admin-receipts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order')))
  const first = await orders()
  await page.getByRole('button', { name: 'Next' }).click()
  await page.getByText('Page 2').waitFor()
  await page.waitForFunction(() => !document.querySelector('ls-admin-app')!.shadowRoot!.querySelector('main[aria-busy="true"]'))
  const second = await orders()
  await page.getByRole('button', { name: 'Next' }).click()
  await page.getByText('Page 3').waitFor()
  await page.waitForFunction(() => !document.querySelector('ls-admin-app')!.shadowRoot!.querySelector('main[aria-busy="true"]'))
  const third = await orders()
  assert.is(third.length, RECEPTIONS - 100)
  // The relay sends the totals with the first page only; they are the filter's, so they stay.
  assert.match(await page.locator('[data-totals]').textContent() ?? '', /^For these filters: 120 accepted orders/)
  assert.ok(await page.getByRole('button', { name: 'Next' }).isDisabled())
  assert.is(new Set([...first, ...second, ...third]).size, RECEPTIONS)
  await page.getByRole('button', { name: 'Previous' }).click()
  await page.getByText('Page 2').waitFor()
  await page.waitForFunction(() => !document.querySelector('ls-admin-app')!.shadowRoot!.querySelector('main[aria-busy="true"]'))
  assert.equal(await orders(), second)
})

test('filtering by lab narrows the receipts and the charts', async () => {
  await page.getByLabel('Lab', { exact: true }).selectOption('lab-2')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByText('Page 1').waitFor()
  await page.waitForFunction(() => !document.querySelector('ls-admin-app')!.shadowRoot!.querySelector('main[aria-busy="true"]'))
  const labs = await page.locator('ls-admin-receipts tbody tr td:nth-child(6)').allTextContents() // after Received, Number, Order, Customer, Store
  assert.is(labs.length, RECEPTIONS / 4)
  assert.ok(labs.every((lab) => lab === 'lab-2'))
  await page.locator('ls-admin-bar-chart').nth(0).locator('.legend').waitFor({ state: 'detached' }) // one lab: no legend
})

test('printing history, and its CSV download', async () => {
  await page.getByRole('button', { name: 'Printing history' }).click()
  await page.getByRole('heading', { name: 'Printing history' }).waitFor()
  await page.locator('ls-admin-history tbody tr').first().waitFor()
  assert.is(await page.locator('ls-admin-history tbody tr').count(), RECEPTIONS / 4)
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()])
  assert.match(download.suggestedFilename(), /^labsync-history-\d{8}T\d{6}Z\.csv$/)
  const [header, ...rows] = parseCsv(readFileSync((await download.path())!, 'utf8'))
  assert.equal(header.slice(0, 4), ['printedAt', 'id', 'lab', 'order'])
  assert.is(rows.length, RECEPTIONS / 4)
  assert.ok(rows.every((row) => row[2] === 'lab-2'))
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-02-history.png'), fullPage: true })
})

test('the token lasts the tab: a reload stays signed in, signing out forgets it', async () => {
  await page.reload()
  await page.getByRole('heading', { name: 'Receipts and discounts' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Admin token').waitFor()
  assert.is(await page.evaluate(() => sessionStorage.getItem('labsync.admin-token')), null)
})

test.run()
