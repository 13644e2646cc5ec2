// What the console lists for an order (lab-node/console/order-views.ts): the customer's display
// name when the receipt carries one (`receipt.name`, written by the relay), else no name, and the
// page shows the account id. Real Y.Docs and a real journal; the relay link serves the docs built here.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { join } from 'node:path'
import { writeSpec } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { OrderViews } from '../../lab-node/console/order-views.ts'
import type { RelayLink } from '../../lab-node/relay-link.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

function orderDoc(id: string, name?: unknown): Y.Doc {
  const doc = new Y.Doc()
  writeSpec(doc, { id, user: 'user-123456789', front: 'store-1', createdAt: '2026-12-06T00:00:00.000Z', state: 'submitted', items: [{ image: 'a'.repeat(64), product: 'L', qty: 1 }] })
  doc.transact(() => {
    const receipt = doc.getMap('receipt')
    receipt.set('status', 'accepted')
    receipt.set('lab', 'lab-1')
    receipt.set('number', 'K7Q')
    if (name !== undefined) receipt.set('name', name)
  })
  return doc
}

test('the customer is named by receipt.name when the receipt has one, and by the account id otherwise', async () => {
  const dir = tempDir('labsync-console-views-')
  const journal = new Journal(join(dir, 'lab.sqlite'))
  const docs = new Map([['o-named', orderDoc('o-named', '  Hanako Yamada ')], ['o-plain', orderDoc('o-plain')], ['o-odd', orderDoc('o-odd', 42)]])
  const queue = new Map([...docs.keys()].map((id) => [id, { receivedAt: '2026-12-06T00:00:00.000Z', front: 'store-1' }]))
  const link = {
    queue, catalog: () => null,
    openOrder: async (id: string) => ({ doc: docs.get(id)!, close() {}, acknowledged: async () => [] }),
  } as unknown as RelayLink
  const views = new OrderViews(link, journal)
  try {
    await views.follow([...docs.keys()], 1_000)
    const customer = (id: string) => views.view(id, false, () => null).customer
    assert.equal(customer('o-named'), { id: 'user-123456789', name: 'Hanako Yamada' })
    assert.equal(customer('o-plain'), { id: 'user-123456789', name: null })
    assert.equal(customer('o-odd'), { id: 'user-123456789', name: null }, 'a name that is not text is not shown')
  } finally {
    views.close()
    journal.close()
    removeDir(dir)
  }
})

test.run()
