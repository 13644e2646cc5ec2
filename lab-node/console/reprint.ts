// The operator's reprint: chosen items of an order that ended here (printed, failed, ready or
// collected) are printed once more, only because the operator asked, with a reason. It is one
// `reprint` entry in the history (no copies: never charged, the receipt is not touched), and the
// reprinted jobs are history entries of their own. Built from what the print path already does
// for `retry`: an item journaled as not printed, and not recorded as printed in the order's
// progress, is sent again.
import { readReceipt } from '../../shared/schema.ts'
import { readOrderSpec } from '../../shared/order-spec.ts'
import type { Journal } from '../journal.ts'
import type { PrintQueue } from '../queue.ts'
import type { RelayLink } from '../relay-link.ts'
import { RelayRefusedError } from '../relay-link.ts'
import { badRequest, conflict, ConsoleRefusal } from './errors.ts'
import type { ReprintEntry } from './history-view.ts'

export const MAX_REASON = 200

export interface ReprintContext {
  labId: string
  journal: Pick<Journal, 'item' | 'orderState' | 'finish' | 'record' | 'markReprint'>
  queue: Pick<PrintQueue, 'retry'>
  link: Pick<RelayLink, 'openOrder'>
  log: (line: string) => void
  now: () => Date
}

/** The order's states from which a reprint may start: it has ended here, nothing of it is in flight. */
const ENDED = new Set(['printed', 'failed', 'ready', 'collected'])

/** Checks the request, marks the chosen items to go again, records the reprint and asks the queue for it; returns the items. */
export async function reprint(ctx: ReprintContext, orderId: string, request: { items?: unknown; reason?: unknown }): Promise<number[]> {
  const reason = typeof request.reason === 'string' ? request.reason.trim() : ''
  if (!reason) throw badRequest('a reprint needs a reason')
  if (reason.length > MAX_REASON) throw badRequest(`the reason is longer than ${MAX_REASON} characters`)
  const mine = ctx.journal.orderState(orderId)?.state
  if (mine === 'printing' || mine === 'retry') throw conflict(`order ${orderId} is being printed; reprint it once it has ended`)

  const order = await ctx.link.openOrder(orderId, 10_000).catch((error: Error) => {
    throw error instanceof RelayRefusedError ? conflict(`order ${orderId} is not an order of this lab`) : new ConsoleRefusal(503, `the relay is out of reach (${error.message}); try again`)
  })
  try {
    const receipt = readReceipt(order.doc)
    if (receipt?.status !== 'accepted' || receipt.lab !== ctx.labId) throw conflict(`order ${orderId} is not an accepted order of this lab`)
    const spec = readOrderSpec(order.doc, orderId).spec
    if (!spec) throw conflict(`order ${orderId} cannot be read`)
    const progress = order.doc.getMap('progress')
    const status = progress.get('status')
    if (!ENDED.has(mine ?? '') && !ENDED.has(status as string)) throw conflict(`order ${orderId} has not been printed yet; print it instead`)
    const items = chosenItems(request.items, spec.items.length)
    for (const index of items) {
      const state = ctx.journal.item(orderId, index)?.state
      if (state === 'intent' || state === 'sent') throw conflict(`item ${index + 1} of order ${orderId} is at the printer now`)
    }
    const now = ctx.now().toISOString()
    const jobName = (index: number) => `${orderId}-${index}`
    // The print path skips an item journaled or recorded in progress.jobs as printed: both now say
    // it did not print, for these items only. The progress is stored at the relay before anything goes.
    const jobs = { ...(progress.get('jobs') as Record<number, unknown> | undefined) }
    for (const index of items) jobs[index] = { job: null, state: 'failed', reason: `reprint: ${reason}` }
    order.doc.transact(() => { progress.set('jobs', jobs); progress.set('updatedAt', now) })
    const refusals = await order.acknowledged(10_000).catch((error: Error) => { throw new ConsoleRefusal(503, `the relay did not store the reprint (${error.message}); nothing was sent`) })
    if (refusals.length) throw conflict(`the relay refused the reprint (${refusals.join('; ')}); nothing was sent`)
    for (const index of items) {
      const known = ctx.journal.item(orderId, index)
      ctx.journal.finish(orderId, index, jobName(index), known?.jobId ?? null, 'failed', `reprint: ${reason}`, null)
    }
    // Each reprinted job's own history entry then says `reprint: true` with this reason.
    ctx.journal.markReprint(orderId, items, reason)
    const entry: ReprintEntry = {
      id: `${ctx.labId}:${orderId}:reprint:${now}`, order: orderId, item: -1, printer: '', job: '', copies: 0,
      status: 'reprint', printedAt: now, reprint: true, reason, items,
    }
    ctx.journal.record(entry)
    ctx.log(`order ${orderId}: reprint of item(s) ${items.map((i) => i + 1).join(', ')} asked by the operator: ${reason}`)
    ctx.queue.retry(orderId)
    return items
  } finally {
    order.close()
  }
}

/** The items asked for (0-based indexes), each once, or all of them. */
function chosenItems(value: unknown, count: number): number[] {
  if (value === undefined || value === null) return Array.from({ length: count }, (_, i) => i)
  if (!Array.isArray(value) || value.length === 0 || value.length > count) throw badRequest('items must be a non-empty list of item indexes')
  const items = new Set<number>()
  for (const index of value) {
    if (!Number.isInteger(index) || index < 0 || index >= count) throw badRequest(`item ${String(index)} is not an item of this order (0 to ${count - 1})`)
    items.add(index as number)
  }
  return [...items].sort((a, b) => a - b)
}
