// The order-intake decision, with no I/O: from a submitted order (its spec as read, its in-store
// stamp), what the relay knows of it (when it first saw it, the customer's photos, the previous
// reception) and the catalog, the reception to record: accepted with its lab, store, price and
// discount, refused with the reason, or not yet (photos still uploading). intake.ts reads and writes.
import * as discount from '../../shared/discount.ts'
import type { CurrentReception, PastReception } from '../../shared/discount.ts'
import { priceOrder } from '../../shared/pricing.ts'
import { validateSubmission } from '../../shared/validate.ts'
import type { OrderSpecReading } from '../../shared/order-spec.ts'
import type { Catalog, DiscountDecision, Front, LabInfo, OrderSpec } from '../../shared/schema.ts'
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
  /** The relay's clock now (Receptions.clock: never before an instant it already gave). */
  now: Date
  /** When the relay first saw this submission (Receptions.awaitingSince). */
  firstSeen: Date
  /** The sequence number the reception will get (Receptions.nextSeq). */
  seq: number
}

export type IntakeDecision =
  /** Photos still uploading (offline customers submit first): wait for them, refuse nothing. */
  | { kind: 'waiting' }
  | { kind: 'refused'; reception: NewReception }
  /** `images`: the photos the lab may fetch for it, one per item. */
  | { kind: 'accepted'; reception: NewReception; images: string[] }

type Admission =
  | { kind: 'waiting' }
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
 * The decision. `previous` is the customer's latest accepted reception in the discount's scope
 * before receptionOf(submission), or null; one that is not eligible (later, another customer,
 * the order itself) gives no discount.
 */
export function decide(submission: Submission, previous: PastReception | null): IntakeDecision {
  const admission = admit(submission)
  if (admission.kind !== 'accepted') return admission
  const { current, spec, front, lab, storeStamp } = admission
  const { catalog } = submission
  const decision = discountOf(current, previous, catalog)
  const { lines, total } = priceOrder({ items: spec.items, front, lab, products: catalog.products, discount: decision, currency: catalog.currency })
  return {
    kind: 'accepted',
    reception: { order: current.order, user: current.user, front: front.id, lab: lab.id, receivedAt: current.receivedAt, status: 'accepted', error: null, lines, total, currency: catalog.currency, discount: decision, storeStamp },
    images: spec.items.map((item) => item.image),
  }
}

/** The discount of `current` given its latest previous reception in scope (also when priced again after a cancel). */
export function discountOf(current: CurrentReception, previous: PastReception | null, catalog: Pick<Catalog, 'discounts' | 'timeZone'>): DiscountDecision | null {
  return discount.decide(previous ? [previous] : [], current, catalog.discounts, catalog.timeZone)
}

function admit(submission: Submission): Admission {
  const { order, user, reading, catalog } = submission
  const spec = reading.spec
  // The shape first (what the lab can print), then the catalog (what we offer).
  const problems = spec === null ? reading.problems : validateSubmission(spec, catalog, user)
  const front = spec === null ? undefined : catalog.fronts.find((f) => f.id === spec.front)
  const lab = catalog.labs.find((l) => l.id === front?.lab)
  if (spec !== null && problems.length === 0 && spec.items.some((item) => !submission.uploaded.has(item.image))) return { kind: 'waiting' }
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
        order, user, front: typeof rawFront === 'string' ? rawFront.slice(0, 64) : '', lab: lab?.id ?? '', receivedAt, status: 'rejected',
        error: problems.join(' ') || 'The order cannot be taken.', lines: [], total: 0, currency: catalog.currency, discount: null, storeStamp,
      },
    }
  }
  const current = { order, user, front: front.id, lab: lab.id, receivedAt, seq: submission.seq }
  return { kind: 'accepted', current, spec, front, lab, storeStamp }
}
