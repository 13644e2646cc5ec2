// How an order received in a store while the relay was out of reach is dated. The lab node signs
// a stamp at its own clock (corrected by the skew it last measured against the relay) and the
// stamp travels inside the order (`instore`), with the lab node's forwarding or later with the
// customer's phone. The relay dates the reception by the stamp only when all of these hold:
//   - the stamp names the order's store and that store's lab, and is signed with a key that lab
//     registered (POST /api/labs/keys): nobody else can make one, and it fits no other order and
//     no other contents of this one;
//   - the stamp is not after the moment the relay first saw the submission, beyond the clock
//     skew allowed (a lab node cannot claim the future);
//   - it is not older than the longest outage a store may have (a stamp cannot reach back months).
// Otherwise the reception is dated when the relay first saw the submission, as without a stamp,
// and the reason is kept with the reception for the admins. Either way it is recorded once.
import { verifyStamp, type InStoreStamp } from '../../shared/signing.ts'
import type { LabKey, LabKeys } from '../store/lab-keys.ts'
import type { StoreStampNote } from '../store/receptions.ts'

/** How far ahead of the relay's clock a lab node's corrected clock may be. */
export const MAX_CLOCK_SKEW_MS = 2 * 60 * 1000
/** The longest a store's link may be down and its receptions still dated by the stamp. */
export const MAX_STORE_OUTAGE_MS = 7 * 24 * 3600 * 1000

/** The order as the relay received it; `spec` is its specDigest. */
export interface StampedOrder { order: string; user: string; front: string; lab: string; spec: string }

/** The note to keep with the reception; `at` when the reception is dated by the stamp. */
export async function judgeStamp(stamp: InStoreStamp, order: StampedOrder, firstSeen: Date, keys: Pick<LabKeys, 'get'>): Promise<StoreStampNote & { at?: Date }> {
  return judgeStampWith(stamp, order, firstSeen, await keys.get(stamp.key))
}

/** judgeStamp with the key the stamp names already read (null: none is registered); no I/O. */
export function judgeStampWith(stamp: InStoreStamp, order: StampedOrder, firstSeen: Date, key: LabKey | null): StoreStampNote & { at?: Date } {
  const note = (reason: string) => ({ lab: stamp.lab, receivedAt: stamp.receivedAt, used: false, reason })
  if (stamp.front !== order.front) return note(`the stamp names store ${stamp.front}, the order ${order.front}`)
  if (stamp.lab !== order.lab) return note(`the stamp is from lab ${stamp.lab}; store ${order.front} belongs to lab ${order.lab}`)
  if (!key || key.keyId !== stamp.key || key.lab !== stamp.lab) return note(`key ${stamp.key} is not registered for lab ${stamp.lab}`)
  if (!verifyStamp(order.order, order.user, stamp, key.publicKey)) return note('the signature does not match')
  if (stamp.spec !== order.spec) return note('the order was changed after the store stamped it')
  const at = Date.parse(stamp.receivedAt)
  if (!/^\d{4}-\d\d-\d\dT/.test(stamp.receivedAt) || Number.isNaN(at)) return note('receivedAt is not an ISO date')
  if (at > firstSeen.getTime() + MAX_CLOCK_SKEW_MS) return note(`stamped ${Math.round((at - firstSeen.getTime()) / 1000)} s after the relay first saw the order (clock skew over ${MAX_CLOCK_SKEW_MS / 1000} s)`)
  if (at < firstSeen.getTime() - MAX_STORE_OUTAGE_MS) return note(`stamped more than ${MAX_STORE_OUTAGE_MS / 86_400_000} days before the relay first saw the order`)
  return { lab: stamp.lab, receivedAt: stamp.receivedAt, used: true, at: new Date(Math.min(at, firstSeen.getTime())) }
}
