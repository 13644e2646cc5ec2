// The lab operator console's API (issue 15 point 2): operator token or 401; the queue lists an
// order with its number, items, thumbnails and printer; print prints through a folder printer;
// ready and collected; hold keeps an order back; reprint prints chosen items again with a reason,
// recorded as a reprint and never charged. Real relay, the lab node's real parts in this process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import sharp from 'sharp'
import { waitFor } from '../helpers/relay.ts'
import { startConsoleStack, type ConsoleStack } from './lab-console-stack.ts'
import type { HistoryView, QueueView } from '../../shared/console-wire.ts'

let stack: ConsoleStack
test.before(async () => { stack = await startConsoleStack() })
test.after(async () => { await stack?.close() })

const post = (path: string, body?: unknown) => stack.api(path, {
  method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
})
const queue = async () => (await (await stack.api('/api/queue')).json()) as QueueView
const history = async () => (await (await stack.api('/api/history')).json()) as HistoryView

test('every API call needs the operator token: none or a wrong one is 401 with a JSON error', async () => {
  for (const path of ['/api/queue', '/api/printers', '/api/history', `/api/photos/${'a'.repeat(64)}`]) {
    const missing = await stack.api(path, { token: null })
    assert.is(missing.status, 401, `${path} without a token`)
    assert.match(((await missing.json()) as { error: string }).error, /operator token/)
    assert.is((await stack.api(path, { token: 'operator-secret-2' })).status, 401, `${path} with a wrong token`)
  }
  assert.is((await stack.api('/api/orders/o1/print', { method: 'POST', token: null })).status, 401)
  assert.not.match(stack.log.join('\n'), /operator-secret/, 'the token is never logged')
})

test('the queue shows a waiting order with its number, customer, items, thumbnails and printer', async () => {
  const order = await stack.placeOrder(2)
  // The first answer may come before the order's document has arrived (the console waits 1.5 s for it).
  let listed = (await queue()).orders.find((o) => o.id === order.orderId)!
  for (let tries = 0; !listed.number && tries < 5; tries++) listed = (await queue()).orders.find((o) => o.id === order.orderId)!
  assert.is(listed.number, order.number)
  assert.ok(listed.customer.id, 'the customer account')
  assert.is(listed.state, 'queued')
  assert.is(listed.front, 'Station store')
  assert.is(listed.items.length, 2)
  assert.equal(listed.items.map((i) => [i.productName, i.size, i.copies, i.templateName]), [['L 89x127 mm', '89×127 mm', 1, 'No frame'], ['L 89x127 mm', '89×127 mm', 2, 'No frame']])
  assert.ok(listed.items.every((i) => i.printer === `file:${stack.prints}`), 'each item goes to the folder printer')
  const thumb = await stack.api(listed.items[0].thumbnail)
  assert.is(thumb.status, 200)
  assert.is(thumb.headers.get('content-type'), 'image/webp')
  const size = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()
  assert.ok(size.width === 160 && size.height === 120, `a 160 px thumbnail, got ${size.width}x${size.height}`)
  assert.is((await stack.api(`${listed.items[0].thumbnail.split('?')[0]}?w=5000`)).status, 400, 'widths are bounded')
})

test('print prints the order through the folder printer; ready and collected follow; each is in today\'s history', async () => {
  const order = await stack.placeOrder(1)
  const refused = await post(`/api/orders/${order.orderId}/ready`)
  assert.is(refused.status, 409, 'an order not printed is not ready')
  assert.match(((await refused.json()) as { error: string }).error, /not printed|only a printed order/)
  const before = stack.printFiles().length
  const printed = await post(`/api/orders/${order.orderId}/print`)
  assert.is(printed.status, 200, await printed.clone().text())
  await waitFor(() => order.progress.get('status') === 'printed', 'printed', 20_000)
  assert.is(stack.printFiles().length, before + 1)
  assert.ok((await queue()).orders.every((o) => o.id !== order.orderId), 'a printed order leaves the queue')
  assert.is((await post(`/api/orders/${order.orderId}/ready`)).status, 200)
  assert.is(order.progress.get('status'), 'ready')
  assert.is((await post(`/api/orders/${order.orderId}/collected`)).status, 200)
  assert.is(order.progress.get('status'), 'collected')
  const rows = (await history()).rows.filter((r) => r.order === order.orderId)
  assert.equal(rows.map((r) => r.status).sort(), ['collected', 'completed', 'ready'])
  assert.is(rows[0].number, order.number)
})

test('hold keeps an order back from print until it is released', async () => {
  const order = await stack.placeOrder(1)
  assert.is((await post(`/api/orders/${order.orderId}/hold`)).status, 200)
  assert.ok((await queue()).orders.find((o) => o.id === order.orderId)?.held)
  const print = await post(`/api/orders/${order.orderId}/print`)
  assert.is(print.status, 409)
  assert.match(((await print.json()) as { error: string }).error, /on hold/)
  assert.is((await post(`/api/orders/${order.orderId}/release`)).status, 200)
  assert.is((await post(`/api/orders/${order.orderId}/print`)).status, 200)
  await waitFor(() => order.progress.get('status') === 'printed', 'printed after release', 20_000)
})

test('reprint sends only the chosen items again, with its reason in the history, never by itself and never charged', async () => {
  const order = await stack.placeOrder(2)
  assert.is((await post(`/api/orders/${order.orderId}/reprint`, { reason: 'too early' })).status, 409, 'an order not printed yet is printed, not reprinted')
  await post(`/api/orders/${order.orderId}/print`)
  await waitFor(() => order.progress.get('status') === 'printed', 'printed', 20_000)
  const files = stack.printFiles().length
  assert.is((await post(`/api/orders/${order.orderId}/reprint`, { items: [1] })).status, 400, 'a reprint needs a reason')
  assert.is((await post(`/api/orders/${order.orderId}/reprint`, { items: [7], reason: 'x' })).status, 400, 'items are checked')
  const asked = await post(`/api/orders/${order.orderId}/reprint`, { items: [1], reason: 'smudged corner' })
  assert.is(asked.status, 200, await asked.clone().text())
  await waitFor(() => stack.printFiles().length === files + 1, 'one print file more', 20_000)
  await waitFor(() => order.progress.get('status') === 'printed', 'printed again', 20_000)
  const newest = stack.printFiles().filter((name) => name.endsWith(`-${order.orderId}-1.jpg`))
  assert.is(newest.length, 2, 'item 2 printed twice, item 1 once')
  assert.is(stack.printFiles().filter((name) => name.endsWith(`-${order.orderId}-0.jpg`)).length, 1)
  const rows = (await history()).rows.filter((r) => r.order === order.orderId)
  const reprint = rows.find((r) => r.status === 'reprint')
  assert.ok(reprint, 'the reprint is in the history')
  assert.is(reprint!.reason, 'smudged corner')
  assert.equal(reprint!.items, [1])
  assert.is(reprint!.copies, 0, 'a reprint entry adds no charged prints')
  assert.is(rows.filter((r) => r.status === 'completed').length, 3)
  // The reprinted job's own entry, as the lab reports it to the relay, says it is a reprint and why.
  const jobs = rows.filter((r) => r.status === 'completed').map((r) => ({ item: r.item, reprint: r.reprint, reason: r.reason }))
  assert.equal(jobs.filter((j) => j.reprint), [{ item: 1, reprint: true, reason: 'smudged corner' }], JSON.stringify(jobs))
  // Nothing prints again by itself.
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  assert.is(stack.printFiles().length, files + 1)
})

test('bounded input: a bad order id is 400, an unknown action 404, a large body 413', async () => {
  assert.is((await post('/api/orders/bad..id/print')).status, 400)
  assert.is((await post('/api/orders/o1/explode')).status, 404)
  assert.is((await post('/api/orders/o1/reprint', { reason: 'x'.repeat(5_000) })).status, 413)
  assert.is((await stack.api('/api/queue', { method: 'DELETE' })).status, 404)
})

test('the page needs the operator token too: without it 401 with a Basic challenge (a browser asks); Basic or Bearer with the token opens it', async () => {
  for (const path of ['/', '/index.html', '/console/x.js', '/assets/x.js']) {
    const res = await stack.api(path, { token: null })
    assert.is(res.status, 401, `${path} without a token`)
    assert.is(res.headers.get('www-authenticate'), 'Basic realm="labsync lab console"')
    assert.match(((await res.json()) as { error: string }).error, /operator token/)
  }
  assert.is((await stack.api('/', { token: 'operator-secret-2', basic: true })).status, 401, 'a wrong token as Basic password')
  assert.is((await stack.api('/', { basic: true })).status, 503, 'the token as Basic password: the page (not built here)')
  assert.is((await stack.api('/', {})).status, 503, 'the token as Bearer')
  const api = await stack.api('/api/printers', { basic: true })
  assert.is(api.status, 200, 'the API takes Basic as well (the browser sends it with the page\'s calls)')
  assert.is((await stack.api('/api/printers', { token: 'operator-secret-2' })).headers.get('www-authenticate'), 'Bearer realm="labsync lab console"', 'a wrong Bearer token: no browser prompt, the page signs in again')
  assert.is((await stack.api('/api/printers', { token: null })).headers.get('www-authenticate'), 'Basic realm="labsync lab console"', 'no credentials: a browser sends the Basic ones it opened the page with')
  assert.not.match(stack.log.join('\n'), /operator-secret/, 'the token is never logged')
})

test('the page answers 503 with how to build it when the web build is missing', async () => {
  const res = await stack.api('/', {})
  assert.is(res.status, 503)
  assert.match(await res.text(), /npm run build/)
})

test.run()
