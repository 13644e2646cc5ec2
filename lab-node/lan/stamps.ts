// In-store stamps: an order submitted over the LAN for one of this lab's stores gets the lab
// node's signature on when the store received it, so the relay dates it by the store even when
// it only hears of the order hours later.
import { readSpec } from '../../shared/schema.ts'
import { signStamp, specDigest } from '../../shared/signing.ts'
import type { Room } from '../../sync-server/room.ts'
import type { InStoreIdentity } from './identity.ts'

export interface StampOptions {
  labId: string
  identity: InStoreIdentity
  /** The relay's clock as this lab node reads it: what a stamp's receivedAt says. */
  relayNow: () => number
  log: (line: string) => void
}

/** Stamps the order in `room` if a customer submitted it here for one of this lab's stores. */
export function stampIfSubmitted(room: Room, options: StampOptions): void {
  const catalog = options.identity.catalog
  if (room.name.kind !== 'order' || !catalog) return
  const spec = room.doc.getMap('spec')
  // Not when the copy carries a receipt or progress (a device that synced with the relay brought
  // them): that order reached the relay already, or was made to look so, and the relay would refuse it.
  if (spec.get('state') !== 'submitted' || ['instore', 'receipt', 'progress'].some((map) => room.doc.getMap(map).size > 0)) return
  const front = catalog.fronts.find((f) => f.id === spec.get('front'))
  const user = spec.get('user')
  if (!front || front.lab !== options.labId || typeof user !== 'string') return // another lab's store: the relay dates it
  const receivedAt = new Date(options.relayNow()).toISOString()
  const fields = { lab: options.labId, front: front.id, receivedAt, spec: specDigest(readSpec(room.doc) ?? {}) }
  const stamp = signStamp(room.name.orderId, user, fields, options.identity.stampKey)
  const order = room.name.name.slice('order/'.length)
  void room.writeAsServer((doc) => {
    const map = doc.getMap('instore')
    for (const [key, value] of Object.entries(stamp)) map.set(key, value)
  }).then(
    () => options.log(`lan: order ${order} received in store ${front.id} at ${receivedAt}`),
    (error: Error) => options.log(`lan: stamping order ${order} failed: ${error.message}`),
  )
}
