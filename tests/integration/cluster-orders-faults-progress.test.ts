// What cluster-orders-faults.test.ts found: a lab's `printing` then `printed` a few ms apart could
// leave `printing` with the reception in PostgreSQL, the two UPDATEs having gone out on two pool
// connections and committed in the other order. LabReports now notes one order's progress one
// note after another. Here the store is a stand-in whose first setProgress is slow (as a busy
// pool connection is): the reception must end with the latest status.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import { LabReports } from '../../relay/orders/lab-reports.ts'
import { orderRoom } from '../../relay/room-names.ts'
import type { ReceptionStore } from '../../relay/store/reception-store.ts'
import type { HistoryStore } from '../../relay/store/history.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import type { Room } from '../../sync-server/room.ts'
import type { Principal } from '../../shared/rights.ts'
import { poll } from '../helpers/cluster-load.ts'

test('a lab\'s printing then printed, the first note slower to store: the reception ends printed', async () => {
  const orderId = 'o-progress-1'
  let stored: string | null = null
  const done: string[] = []
  const receptions = {
    get: async () => ({ order: orderId, lab: 'lab-1' }),
    async setProgress(_order: string, status: string | null) {
      if (status === 'printing') await new Promise((resolve) => setTimeout(resolve, 100))
      stored = status
      done.push(String(status))
    },
  } as unknown as ReceptionStore
  const rooms = { borrow: async () => undefined } as unknown as Rooms
  const reports = new LabReports({ rooms, history: {} as HistoryStore, receptions, now: () => Date.now() })
  const doc = new Y.Doc()
  const room = { name: orderRoom(orderId), doc, facts: () => ({ lab: 'lab-1' }) } as unknown as Room
  const lab: Principal = { kind: 'lab', labId: 'lab-1' }
  doc.getMap('progress').set('status', 'printing')
  reports.onChange(room, lab)
  await new Promise((resolve) => setTimeout(resolve, 10))
  doc.getMap('progress').set('status', 'printed')
  reports.onChange(room, lab)
  await poll(() => done.length === 2, 'both notes stored', 2_000)
  assert.is(stored, 'printed', `stored in this order: ${done.join(', ')}`)
})

test.run()
