// The order-intake decision, with no I/O: from a submitted order (its spec as read, its in-store
// stamp), what the relay knows of it (when it first saw it, the customer's photos, the previous
// reception) and the catalog, the reception to record: accepted with its lab, store, price and
// discount, refused with the reason, or not yet (photos still uploading). intake.ts reads and writes.
import { readerOver, type CurrentReception, type PastReception, type PreviousReader } from '../../shared/discount.ts'
import { quote } from '../../shared/pricing.ts'
import { pickupFrontOf, validateSubmission } from '../../shared/validate.ts'
import type { OrderSpecReading } from '../../shared/order-spec.ts'
import type { Catalog, DiscountScope, Front, LabInfo, OrderSpec } from '../../shared/schema.ts'
import { specDigest, type InStoreStamp } from '../../shared/signing.ts'
import type { LabKey } from '../store/lab-keys.ts'
import type { NewReception, StoreStampNote } from '../store/receptions.ts'
import { judgeStampWith } from './stamps.ts'

/** What the relay knows of a submitted order at the moment it receives it. */
export interface Submission {
  order: string
  /** The document's owner: the relay trusts that string, never spec.user. */
  user: string
  /** The spec through shared/order-spec.ts. */
  reading: OrderSpecReading
  /** spec.front as written, whatever its type: a refusal records it when it is a string. */
  rawFront: unknown
  /** The in-store stamp the order carries; null without one, or when the relay checks no stamps. */
  stamp: InStoreStamp | null
  /** The key the stamp names, as registered (LabKeys.get); null when none is. */
  stampKey: LabKey | null
  /** Of the photos the spec names, those the customer has uploaded. */
  uploaded: ReadonlySet<string>
  catalog: Catalog
  /** The reception clock now (the store's: never before an instant it already gave, cluster-wide in a cluster). */
  now: Date
  /** When the relay first saw this submission (ReceptionStore.awaitingSince). */
  firstSeen: Date
  /** firstSeen + limits.photoWait: photos still missing then, the order is refused naming them. */
  photoDeadline: Date
  /** The sequence number the reception will get (taken inside the store's transaction: ReceptionStore.receive). */
  seq: number
}

export type IntakeDecision =
  /** Photos still uploading (offline customers submit first): wait for them until the deadline; `missing` in spec order. */
  | { kind: 'waiting'; missing: string[] }
  | { kind: 'refused'; reception: NewReception }
  /** `images`: the photos the lab may fetch for it, one per item. */
  | { kind: 'accepted'; reception: NewReception; images: string[] }

/** The customer's previous receptions in a discount scope, strictly before `current` (Receptions, or a history in tests). */
export type PreviousLookup = (scope: DiscountScope, current: CurrentReception) => PreviousReader

/** A PreviousLookup over receptions in memory. */
export const fromHistory = (history: readonly PastReception[]): PreviousLookup => (scope, current) => readerOver(history, scope, current)

type Admission =
  | { kind: 'waiting'; missing: string[] }
  | { kind: 'refused'; reception: NewReception }
  | { kind: 'accepted'; current: CurrentReception; spec: OrderSpec; front: Front; lab: LabInfo; storeStamp: StoreStampNote | null }

/**
 * The reception an accepted order will be, before its discount: what the one previous reception
 * that can give a discount is looked up by (Receptions.latestInScope). Null when the order is
 * refused or waits, so no previous reception matters.
 */
export function receptionOf(submission: Submission): CurrentReception | null {
  const admission = admit(submission)
  return admission.kind === 'accepted' ? admission.current : null
}

/**
 * The decision. `previous` reads the customer's accepted receptions before receptionOf(submission)
 * in a scope; the lab's rules and the store's own are decided from it (shared/pricing.ts quote).
 */
export function decide(submission: Submission, previous: PreviousLookup): IntakeDecision {
  const admission = admit(submission)
  if (admission.kind !== 'accepted') return admission
  const { current, spec, front, lab, storeStamp } = admission
  const { catalog } = submission
  const priced = quote({ items: spec.items, front, lab, catalog, current, previous: (scope) => previous(scope, current) })
  return {
    kind: 'accepted',
    reception: {
      order: current.order, user: current.user, front: front.id, pickupFront: pickupFrontOf(spec), lab: lab.id, receivedAt: current.receivedAt,
      status: 'accepted', error: null, lines: priced.lines, total: priced.total, currency: catalog.currency,
      discount: priced.discount, frontDiscount: priced.frontDiscount, storeStamp,
    },
    images: spec.items.map((item) => item.image),
  }
}

/** The photos of `spec` not at the relay yet, each once, in the order the prints name them. */
function missingPhotos(spec: OrderSpec, uploaded: ReadonlySet<string>): string[] {
  return [...new Set(spec.items.map((item) => item.image).filter((image) => !uploaded.has(image)))]
}

function admit(submission: Submission): Admission {
  const { order, user, reading, catalog } = submission
  const spec = reading.spec
  // The shape first (what the lab can print), then the catalog (what we offer).
  const problems = [...(spec === null ? reading.problems : validateSubmission(spec, catalog, user))]
  const front = spec === null ? undefined : catalog.fronts.find((f) => f.id === spec.front)
  const lab = catalog.labs.find((l) => l.id === front?.lab)
  const missing = spec !== null && problems.length === 0 ? missingPhotos(spec, submission.uploaded) : []
  if (missing.length > 0 && submission.now < submission.photoDeadline) return { kind: 'waiting', missing }
  // Past the deadline: refused, naming the photos that never came (the device that has them may still be found).
  if (missing.length > 0) problems.push(`${missing.length === 1 ? 'A photo' : `${missing.length} photos`} never reached us: ${missing.join(', ')}. Please send the order again from the device that has ${missing.length === 1 ? 'it' : 'them'}.`)
  // A refused order is dated when it is refused; an accepted one from when the relay first saw it.
  const firstSeen = problems.length === 0 ? submission.firstSeen : submission.now
  // Received in a store while the relay was out of reach: dated by the lab node's signed stamp (stamps.ts).
  let storeStamp: StoreStampNote | null = null
  let receivedAt = firstSeen
  if (submission.stamp && spec && front && lab) {
    const { at, ...note } = judgeStampWith(submission.stamp, { order, user, front: front.id, lab: lab.id, spec: specDigest(spec) }, firstSeen, submission.stampKey)
    storeStamp = note
    if (at) receivedAt = at
  }
  if (spec === null || problems.length > 0 || !front || !lab) {
    const { rawFront } = submission
    return {
      kind: 'refused',
      reception: {
        // Only strings the relay can store and list: a front written as an object is noted as none.
        order, user, front: typeof rawFront === 'string' ? rawFront.slice(0, 64) : '', pickupFront: null, lab: lab?.id ?? '', receivedAt, status: 'rejected',
        error: problems.join(' ') || 'The order cannot be taken.', lines: [], total: 0, currency: catalog.currency, discount: null, frontDiscount: null, storeStamp,
      },
    }
  }
  const current = { order, user, front: front.id, lab: lab.id, receivedAt, seq: submission.seq }
  return { kind: 'accepted', current, spec, front, lab, storeStamp }
}
