// The print queue's choice with --auto: the oldest waiting order the operator does not hold
// (the console's hold). Real journal and folder printer; the lab document is a Y.Doc with the
// relay's queue in it and no catalog, so the loop stops right after choosing and says so.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { join } from 'node:path'
import { Journal } from '../../lab-node/journal.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { PrintQueue } from '../../lab-node/queue.ts'
import type { RelayLink } from '../../lab-node/relay-link.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'

function queueOf(orders: string[]) {
  const dir = tempDir('labsync-queue-hold-')
  const labDoc = new Y.Doc()
  const relayQueue = labDoc.getMap('queue') as unknown as RelayLink['queue']
  orders.forEach((order, i) => (relayQueue as unknown as Y.Map<unknown>).set(order, { receivedAt: `2026-12-06T00:00:0${i}.000Z` }))
  const lines: string[] = []
  const journal = new Journal(join(dir, 'lab.sqlite'))
  const printer = new FilePrinter(join(dir, 'prints'))
  const link = { queue: relayQueue, catalog: () => null, openOrder: () => { throw new Error('no order is opened without a catalog') }, photo: () => { throw new Error('no photo') } } as unknown as RelayLink
  const queue = new PrintQueue({ labId: 'lab-1', auto: true, fleet: new PrinterFleet([printer]), journal, link, log: (line) => lines.push(line) })
  const done = async () => { queue.stop(); await printer.close(); journal.close(); removeDir(dir) }
  return { queue, lines, done }
}

const chosen = (lines: string[]) => lines.filter((line) => /no catalog from the relay yet/.test(line)).length

test('with --auto a held order is passed over; released, it is taken', async () => {
  const { queue, lines, done } = queueOf(['o-first', 'o-second'])
  try {
    queue.hold('o-first')
    queue.hold('o-second')
    queue.resume()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.is(chosen(lines), 0, 'both held: nothing taken')
    assert.ok(queue.isHeld('o-first'))
    assert.equal(queue.waiting(), ['o-first', 'o-second'], 'held orders still wait, and are listed')
    assert.is(queue.release('o-second'), true)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.is(chosen(lines), 1, 'the released one is taken at once')
    assert.is(queue.release('o-second'), false, 'releasing an order not held says so')
  } finally {
    await done()
  }
})

test.run()
