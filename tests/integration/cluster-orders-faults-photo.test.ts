// What cluster-orders-faults.test.ts found: a lab node fetching a photo just as its relay died
// (behind a balancer: a reset connection, or 502/503/504) failed the order for good. The photo
// fetch now says the relay is unavailable, and printOrder leaves the order for the queue to try
// again instead of failing it. The fetch runs against real sockets; printOrder, as in
// lab-crash.test.ts, through a FAKE relay link (a Y.Doc built here, the photo from memory, once
// refused), with a real journal and folder printer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { writeSpec, type Catalog } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'
import { printOrder, type PrintContext } from '../../lab-node/print-order.ts'
import { RelayLink, RelayUnavailableError } from '../../lab-node/relay-link.ts'
import { makePhoto, newOrderId, removeDir, sha256Hex, tempDir } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG } from '../helpers/lab.ts'

const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

/** A server answering every request with `status`; its base URL. */
async function answering(status: number): Promise<string> {
  const server: Server = createServer((_req, res) => { res.writeHead(status).end('no') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<string> {
  const url = await answering(200)
  await cleanups.pop()!()
  return url
}

function link(url: string): RelayLink {
  const dir = tempDir('labsync-photo-')
  const relayLink = new RelayLink(url, 'lab-1', 'lab-1-secret', join(dir, 'photos'))
  cleanups.push(() => { relayLink.close(); removeDir(dir) })
  return relayLink
}

const sha = 'ab'.repeat(32)

test('a photo fetch with no answer, or a balancer with no relay (502, 503, 504), is RelayUnavailableError; a 404 is not', async () => {
  const error = await link(await closedPort()).photo(sha).catch((e: Error) => e)
  assert.instance(error, RelayUnavailableError, String(error))
  for (const status of [502, 503, 504]) {
    const answer = await link(await answering(status)).photo(sha).catch((e: Error) => e)
    assert.instance(answer, RelayUnavailableError, `${status}: ${String(answer)}`)
  }
  const missing = await link(await answering(404)).photo(sha).catch((e: Error) => e)
  assert.instance(missing, Error)
  assert.not.instance(missing, RelayUnavailableError)
  assert.match(String(missing), /HTTP 404/)
})

test('printOrder leaves an order whose photo the relay could not serve to be tried again: nothing sent, not failed; then it prints', async () => {
  const dir = tempDir('labsync-photo-order-')
  cleanups.push(() => removeDir(dir))
  const journal = new Journal(join(dir, 'lab.sqlite'))
  cleanups.push(() => journal.close())
  const prints = join(dir, 'prints')
  const printer = new FilePrinter(prints)
  cleanups.push(() => printer.close())
  const photo = await makePhoto(7, 64, 48)
  const orderId = newOrderId()
  const doc = new Y.Doc()
  writeSpec(doc, { id: orderId, user: 'u1', front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: [{ image: sha256Hex(photo), product: 'L', qty: 1 }] })
  doc.transact(() => { const r = doc.getMap('receipt'); r.set('status', 'accepted'); r.set('lab', 'lab-1'); r.set('receivedAt', new Date().toISOString()) })
  let unavailable = true
  const lines: string[] = []
  const ctx: PrintContext = {
    labId: 'lab-1', fleet: new PrinterFleet([printer]), journal, catalog: ONE_LAB_CONFIG as unknown as Catalog, log: (line) => lines.push(line), retry: { attempts: 2, baseMs: 10, maxMs: 20 },
    link: {
      openOrder: async () => ({ doc, close() {}, acknowledged: async () => [] }),
      photo: async () => { if (unavailable) throw new RelayUnavailableError('photo: fetch failed'); return photo },
    },
  }
  const first = await printOrder(ctx, orderId).catch((e: Error) => e)
  assert.instance(first, RelayUnavailableError, JSON.stringify(first))
  assert.is.not(doc.getMap('progress').get('status'), 'failed', lines.join('\n'))
  assert.is(journal.item(orderId, 0), null, 'nothing journaled as sent')
  unavailable = false
  assert.equal(await printOrder(ctx, orderId), { status: 'printed' }, lines.join('\n'))
  assert.is(readdirSync(prints).filter((f) => f.endsWith(`-${orderId}-0.jpg`)).length, 1)
})

test.run()
