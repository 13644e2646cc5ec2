// What order intake writes into the documents for a reception: the order's receipt and its lab's
// queue entry, and a map update that writes only what changed (a repeated delivery writes nothing).
import type * as Y from 'yjs'
import type { QueueEntry, Receipt } from '../../shared/schema.ts'
import type { Reception } from '../store/receptions.ts'

export function queueEntryOf(reception: Reception): QueueEntry {
  const entry: QueueEntry = { receivedAt: reception.receivedAt.toISOString(), front: reception.front }
  if (reception.pickupFront && reception.pickupFront !== reception.front) entry.pickupFront = reception.pickupFront
  return entry
}

export function receiptOf(reception: Reception, name: string | null): Receipt {
  const receipt: Receipt = {
    status: reception.status === 'rejected' ? 'rejected' : 'accepted',
    receivedAt: reception.receivedAt.toISOString(),
    lab: reception.lab,
    lines: reception.lines,
    total: reception.total,
    currency: reception.currency,
    discount: reception.discount,
  }
  if (reception.error) receipt.error = reception.error
  if (reception.number) receipt.number = reception.number
  if (reception.pickupFront) receipt.pickupFront = reception.pickupFront
  // Written only when the store has its own discount rules or gave one: receipts of stores without stay as they were.
  if (reception.frontDiscount) receipt.frontDiscount = reception.frontDiscount
  if (name) receipt.name = name
  return receipt
}

/** Sets only the keys whose value differs, so a repeated delivery writes nothing. */
export function setChanged(map: Y.Map<unknown>, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    if (JSON.stringify(map.get(key)) !== JSON.stringify(value)) map.set(key, value)
  }
}
