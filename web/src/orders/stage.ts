// Where an order stands and what the customer may do with it, judged from its document alone:
// the sign (stage), the steps on its way to the lab, the price to show, the problems before it
// can be sent and the actions left. Pure: the order controllers use it, views render what it says.
import type { PastReception } from '../../../shared/discount.ts'
import { hasStarted, type Catalog, type ProgressStatus } from '../../../shared/schema.ts'
import { validateSubmission } from '../../../shared/validate.ts'
import { estimate, type Estimate } from './estimate.ts'
import type { OrderView } from './order-doc.ts'

/**
 * Where an order stands, in the customer's words (the "sign" on every order, on every device).
 * `sent` means the print service holds it; `sent-store` that only the home store's lab node does
 * so far; `in-store` that the lab node received the submission (its stamp), not yet the service's
 * receipt; `waiting-photos` that the order is received but some photos have not arrived
 * (receipt `waiting`); from `received` on, the lab's progress says the rest.
 */
export type Stage = 'draft' | 'device-only' | 'sent' | 'sent-store' | 'in-store' | 'waiting-photos' | 'received'
  | 'held' | 'printing' | 'printed' | 'failed' | 'ready' | 'collected' | 'rejected' | 'cancelled'

/** Which servers are known to hold every change this device made to the order. */
export interface Held { relay: boolean; store: boolean }

/** The receipt's status, read loosely: a relay older or newer than this app may write others. */
const receiptStatus = (view: OrderView): string | undefined => view.receipt?.status as string | undefined

/** The lab's progress as the sign from the reception on. */
const PROGRESS_STAGE: Partial<Record<ProgressStatus, Stage>> = {
  held: 'held', printing: 'printing', printed: 'printed', failed: 'failed', ready: 'ready', collected: 'collected',
}

export function stageOf(view: OrderView, held: Held): Stage {
  const state = view.spec.state
  if (state === 'cancelled') return 'cancelled'
  const receipt = receiptStatus(view)
  if (receipt === 'rejected') return 'rejected'
  if (receipt === 'waiting') return 'waiting-photos'
  if (view.receipt) return (view.progress && PROGRESS_STAGE[view.progress.status]) || 'received'
  if (state !== 'submitted') return 'draft'
  if (view.instore) return 'in-store'
  // Only this device's own unsent changes make "on this device only": an order that reached this
  // device from the service or the store is held there by definition.
  return held.relay ? 'sent' : held.store ? 'sent-store' : 'device-only'
}

/** What a document link knows of who holds the order, as `stageOf` wants it. */
export const heldBy = (link: { relayHasAll: boolean; storeHasAll: boolean } | undefined): Held =>
  ({ relay: link?.relayHasAll ?? false, store: link?.storeHasAll ?? false })

/** The sign's words; "ready" names the pickup store where the views know it (ui/format.ts stageText). */
export const STAGE_LABEL: Record<Stage, string> = {
  draft: 'Draft',
  'device-only': 'On this device only',
  sent: 'Sent',
  'sent-store': 'Sent to the store',
  'in-store': 'Received in store',
  'waiting-photos': 'Waiting for photos',
  received: 'Received',
  held: 'Waiting for a printer',
  printing: 'Printing',
  printed: 'Printed',
  failed: 'Printing problem',
  ready: 'Ready for pickup',
  collected: 'Collected',
  rejected: 'Not accepted',
  cancelled: 'Cancelled',
}

/** The photos (hashes) a waiting order still needs, as the receipt lists them. */
export function missingPhotos(view: OrderView): string[] {
  const missing = (view.receipt as { missing?: unknown } | null)?.missing
  return receiptStatus(view) === 'waiting' && Array.isArray(missing) ? missing.filter((m): m is string => typeof m === 'string') : []
}

/** A sent order may be cancelled until the relay rejects it or the lab starts printing it. */
export function mayCancel(view: OrderView): boolean {
  if (view.spec.state !== 'submitted') return false
  if (receiptStatus(view) === 'rejected') return false
  // The relay's own rule (shared/schema.ts): once a job went to a printer, or past it, no cancel.
  return !hasStarted(view.progress?.status)
}

/**
 * How long a printed order stays connected for its store to mark it ready for pickup and then
 * collected; after that (a lab that does not mark pickups) it rests like a collected one.
 */
export const PICKUP_WAIT_MS = 30 * 24 * 3600 * 1000

/**
 * Whether nothing more will happen to the order, so it need not stay connected. A printed order
 * is not settled yet: the store marks it ready for pickup, then collected, and the customer is to
 * see both.
 */
export function isSettled(view: OrderView, now: Date): boolean {
  if (view.spec.state === 'cancelled') return true
  if (receiptStatus(view) === 'rejected') return true
  const status = view.progress?.status
  if (status === 'collected' || status === 'failed') return true
  const since = Date.parse(view.progress?.updatedAt ?? '')
  return (status === 'printed' || status === 'ready') && now.getTime() - since > PICKUP_WAIT_MS
}

export type StepState = 'done' | 'current' | 'todo' | 'failed'

/**
 * The order's way as the detail view lists it: sent, received by the print service (`relay`; current
 * while photos are missing), then printed at the lab (or cancelled, which ends the way as failed).
 * The pickup that follows is `Standing.pickup`.
 */
export interface Steps { sent: boolean; relay: StepState; lab: StepState }

export function stepsOf(view: OrderView, stage: Stage): Steps {
  // A cancelled order the relay never received was cancelled before it went out.
  const sent = stage !== 'device-only' && !(stage === 'cancelled' && !view.receipt)
  const receipt = receiptStatus(view)
  const relay: StepState = receipt === 'rejected' ? 'failed' : receipt === 'waiting' ? 'current' : view.receipt ? 'done' : sent ? 'current' : 'todo'
  const status = view.progress?.status
  const lab: StepState = stage === 'cancelled' || status === 'failed' ? 'failed'
    : status === 'printed' || status === 'ready' || status === 'collected' ? 'done' : view.progress ? 'current' : 'todo'
  return { sent, relay, lab }
}

/** The last step: ready at the pickup store, then collected. */
export function pickupStep(view: OrderView, stage: Stage): StepState {
  if (stage === 'collected') return 'done'
  if (stage === 'ready') return 'current'
  return stage === 'cancelled' || stage === 'rejected' ? 'failed' : 'todo'
}

/** What the customer can do with the order now; the views show only these buttons. */
export interface Actions {
  /** Send the draft: it has everything the relay checks for. */
  send: boolean
  /** Throw the draft away. */
  discard: boolean
  cancel: boolean
  /** Start a new draft with the same prints. */
  reorder: boolean
}

/** `problems` is null when they cannot be judged (no catalog on this device yet): nothing is sent then. */
export function actionsOf(view: OrderView, problems: string[] | null): Actions {
  const draft = view.spec.state === 'draft'
  return { send: draft && problems !== null && problems.length === 0, discard: draft, cancel: mayCancel(view), reorder: !draft }
}

/** A price to show in a list: the receipt's once the relay accepted the order, else a draft's estimate. */
export interface ShownPrice { total: number; currency: string; estimated: boolean }

export function shownPrice(view: OrderView, estimated: Estimate | null): ShownPrice | null {
  if (view.receipt?.status === 'accepted') return { total: view.receipt.total, currency: view.receipt.currency, estimated: false }
  if (view.spec.state !== 'draft' || !estimated) return null
  return { total: estimated.total, currency: estimated.currency, estimated: true }
}

/** Everything the views show about an order besides its document. */
export interface Standing {
  stage: Stage
  steps: Steps
  /** Until the relay prices the order (its receipt), the price to expect; null without a catalog, store or prints. */
  estimate: Estimate | null
  price: ShownPrice | null
  /** Why a draft cannot be sent yet (empty once it can, and for a sent order). */
  problems: string[]
  actions: Actions
  /** Copies of all prints together. */
  prints: number
  /** The lab's progress, while it means something to the customer (not once the order is cancelled). */
  lab: ProgressStatus | null
  /** Ready for pickup (current), collected (done). */
  pickup: StepState
  /** Photos (hashes) the print service is still waiting for. */
  missing: string[]
}

/** What the judgement needs besides the document: who holds it, the catalog, the customer's past orders, the time. */
export interface StandingContext {
  held: Held
  catalog: Catalog | null
  /** The customer's earlier receptions, for the repeat discount of the estimate. */
  history: PastReception[]
  user: string
  now: Date
}

export function standingOf(view: OrderView, context: StandingContext): Standing {
  const { catalog } = context
  const stage = stageOf(view, context.held)
  // Until the order is priced (no receipt, or one waiting for photos), the price to expect.
  const priced = view.receipt && receiptStatus(view) !== 'waiting'
  const estimated = catalog && !priced ? estimate(catalog, view, context.history, context.user, context.now) : null
  const problems = !catalog ? null : view.spec.state === 'draft' ? validateSubmission(view.spec, catalog, context.user) : []
  return {
    stage,
    steps: stepsOf(view, stage),
    estimate: estimated,
    price: shownPrice(view, estimated),
    problems: problems ?? [],
    actions: actionsOf(view, problems),
    prints: view.spec.items.reduce((sum, item) => sum + (item.qty > 0 ? item.qty : 0), 0),
    lab: view.progress && view.spec.state !== 'cancelled' ? view.progress.status : null,
    pickup: pickupStep(view, stage),
    missing: missingPhotos(view),
  }
}
