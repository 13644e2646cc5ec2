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
import { holdsFile } from '../../lab-node/holds.ts'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'

function queueOf(orders: string[], dir = tempDir('labsync-queue-hold-'), keep = false) {
  const labDoc = new Y.Doc()
  const relayQueue = labDoc.getMap('queue') as unknown as RelayLink['queue']
  orders.forEach((order, i) => (relayQueue as unknown as Y.Map<unknown>).set(order, { receivedAt: `2026-12-06T00:00:0${i}.000Z` }))
  const lines: string[] = []
  const journal = new Journal(join(dir, 'lab.sqlite'))
  const printer = new FilePrinter(join(dir, 'prints'))
  const link = { queue: relayQueue, catalog: () => null, openOrder: () => { throw new Error('no order is opened without a catalog') }, photo: () => { throw new Error('no photo') } } as unknown as RelayLink
  const queue = new PrintQueue({ labId: 'lab-1', auto: true, fleet: new PrinterFleet([printer]), journal, link, log: (line) => lines.push(line), holds: holdsFile(dir) })
  const done = async () => { queue.stop(); await printer.close(); journal.close(); if (!keep) removeDir(dir) }
  return { queue, lines, done, dir }
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

test('holds survive a restart: kept in the data folder, written whole (no temporary file left), released ones gone', async () => {
  const dir = tempDir('labsync-queue-hold-')
  try {
    const first = queueOf(['o-a', 'o-b'], dir, true)
    first.queue.hold('o-a')
    first.queue.hold('o-b')
    assert.is(first.queue.release('o-b'), true)
    await first.done()
    assert.equal(readdirSync(dir).filter((name) => name.startsWith('holds')), ['holds.json'])

    // A temporary file a crash left behind mid-write changes nothing.
    writeFileSync(join(dir, 'holds.json.tmp'), '{"held": ["o-')
    const second = queueOf(['o-a', 'o-b'], dir, true)
    assert.ok(second.queue.isHeld('o-a'), 'held before the restart, held after')
    assert.not.ok(second.queue.isHeld('o-b'), 'released before the restart')
    second.queue.resume()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.is(chosen(second.lines), 1, '--auto takes only the order not held')
    await second.done()
    assert.ok(existsSync(join(dir, 'holds.json')))
  } finally {
    removeDir(dir)
  }
})

test.run()
