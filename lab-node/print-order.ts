// Prints one order: checks it is assigned here and printable, renders each item, sends it with
// intent journaled first, follows the job to its end, and writes `progress` into the order.
import * as Y from 'yjs'
import { readReceipt, readSpec, type Catalog, type HistoryEntry, type OrderSpec } from '../shared/schema.ts'
import type { Journal, ItemState } from './journal.ts'
import type { RelayLink } from './relay-link.ts'
import type { Printer, PrinterDescription } from './printers/printer.ts'
import { describeRunning, followJob, withRetry } from './printers/follow.ts'
import { PrinterRejectedError } from './printers/errors.ts'
import { renderPrint } from './render.ts'

export interface PrintContext {
  labId: string
  printer: Printer
  journal: Journal
  link: RelayLink
  catalog: Catalog
  templatesDir?: string
  log: (line: string) => void
  /** How long one job may take before it counts as failed. */
  jobTimeoutMs?: number
  retry?: { attempts: number; baseMs: number; maxMs: number }
  now?: () => Date
}

export type OrderOutcome = { status: 'printed' } | { status: 'failed'; reason: string } | { status: 'skipped'; reason: string }

export async function printOrder(ctx: PrintContext, orderId: string): Promise<OrderOutcome> {
  const now = ctx.now ?? (() => new Date())
  const order = await ctx.link.openOrder(orderId)
  try {
    const spec = readSpec(order.doc) as OrderSpec | null
    const receipt = readReceipt(order.doc)
    if (!spec || receipt?.status !== 'accepted' || receipt.lab !== ctx.labId) return { status: 'skipped', reason: 'not an accepted order of this lab' }
    if (spec.state === 'cancelled') return { status: 'skipped', reason: 'cancelled by the customer' }
    const progress = order.doc.getMap('progress')
    const jobs: Record<string, { job: string | null; state: string; reason?: string }> = {}
    // One transaction per change of progress: whoever syncs the order never sees a status
    // without its reason.
    const setProgress = (status: string, reason?: string) => order.doc.transact(() => {
      progress.set('status', status)
      progress.set('updatedAt', now().toISOString())
      progress.set('jobs', { ...jobs })
      if (reason !== undefined) progress.set('reason', reason)
    })
    const fail = (reason: string): OrderOutcome => {
      setProgress('failed', reason)
      ctx.journal.setOrderState(orderId, 'failed', reason)
      ctx.log(`order ${orderId}: failed: ${reason}`)
      return { status: 'failed', reason }
    }

    const retry = ctx.retry ?? { attempts: 8, baseMs: 500, maxMs: 15_000 }
    let description: PrinterDescription
    try {
      description = await withRetry(() => describeRunning(ctx.printer), {
        ...retry, onRetry: ({ error, delayMs }) => ctx.log(`printer not ready (${(error as Error).message}); trying again in ${delayMs} ms`),
      })
    } catch (error) {
      return fail(`printer unavailable: ${(error as Error).message}`)
    }
    const unsupported = unsupportedReason(spec, ctx.catalog, description)
    if (unsupported) return fail(unsupported)

    ctx.journal.setOrderState(orderId, 'printing')
    setProgress('printing')
    ctx.log(`order ${orderId}: printing ${spec.items.length} item(s) on ${ctx.printer.uri}`)
    const items = order.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>
    for (let index = 0; index < items.length; index++) {
      const item = items.get(index).toJSON() as OrderSpec['items'][number]
      const jobName = `${orderId}-${index}`
      const known = ctx.journal.item(orderId, index)
      if (known && known.state !== 'intent' && known.state !== 'sent') {
        jobs[index] = { job: known.jobId, state: known.state }
        continue // ended before a restart: never sent twice
      }
      try {
        const jobId = await sendOnce(ctx, description, spec, receipt.receivedAt, index, item, jobName, retry)
        jobs[index] = { job: jobId, state: 'processing' }
        setProgress('printing')
        const status = await followJob(ctx.printer, jobId, { pollMs: 250, timeoutMs: ctx.jobTimeoutMs ?? 15 * 60_000 })
        const state = status.state as ItemState
        const entry: HistoryEntry = {
          id: `${ctx.labId}:${jobName}:${jobId}`, order: orderId, item: index, printer: ctx.printer.uri, job: jobId,
          copies: item.qty, status: status.state, printedAt: now().toISOString(),
        }
        ctx.journal.finish(orderId, index, jobName, jobId, state, status.reasons.join(', ') || null, entry)
        jobs[index] = { job: jobId, state: status.state, ...(status.reasons.length ? { reason: status.reasons.join(', ') } : {}) }
        ctx.log(`order ${orderId}: item ${index + 1}/${items.length} job ${jobId} ${status.state}`)
      } catch (error) {
        jobs[index] = { job: ctx.journal.item(orderId, index)?.jobId ?? null, state: 'failed', reason: (error as Error).message }
        return fail(`item ${index + 1}: ${(error as Error).message}`)
      }
    }
    const failed = Object.entries(jobs).filter(([, job]) => job.state !== 'completed')
    if (failed.length) return fail(`${failed.length} of ${items.length} job(s) did not complete (${failed.map(([i, job]) => `item ${Number(i) + 1} ${job.state}`).join(', ')})`)
    setProgress('printed')
    ctx.journal.setOrderState(orderId, 'printed')
    ctx.log(`order ${orderId}: printed`)
    return { status: 'printed' }
  } finally {
    // Give the last progress write a moment to reach the relay before the document closes.
    await new Promise((resolve) => setTimeout(resolve, 200))
    order.close()
  }
}

/**
 * Sends the item unless the journal or the printer says it was sent already. Intent is journaled
 * before Print-Job; after a failed or interrupted submit the printer is asked (by job name)
 * before sending again.
 */
async function sendOnce(
  ctx: PrintContext, description: PrinterDescription, spec: OrderSpec, receivedAt: string, index: number,
  item: OrderSpec['items'][number], jobName: string, retry: NonNullable<PrintContext['retry']>,
): Promise<string> {
  const known = ctx.journal.item(spec.id, index)
  if (known?.state === 'sent' && known.jobId) return known.jobId
  const product = ctx.catalog.products.find((p) => p.id === item.product)!
  let rendered: Buffer | null = null
  return withRetry(async () => {
    if (ctx.journal.item(spec.id, index)?.state === 'intent') {
      const found = await ctx.printer.findJobs(jobName)
      if (found.length > 0) {
        const jobId = found[found.length - 1].jobId
        ctx.journal.sent(spec.id, index, jobName, jobId)
        ctx.log(`order ${spec.id}: item ${index + 1} was already sent as job ${jobId}; following it`)
        return jobId
      }
    }
    rendered ??= (await renderPrint({
      image: await ctx.link.photo(item.image), product, dpi: description.resolutionDpi,
      template: item.template ?? 'plain', templatesDir: ctx.templatesDir,
      record: { order: spec.id, user: spec.user, receivedAt, front: spec.front, lab: ctx.labId, item: index },
    })).jpeg
    ctx.journal.intend(spec.id, index, jobName)
    try {
      const { jobId } = await ctx.printer.submit({ name: jobName, document: rendered, format: 'image/jpeg', copies: item.qty, media: product.media })
      ctx.journal.sent(spec.id, index, jobName, jobId)
      return jobId
    } catch (error) {
      if (error instanceof PrinterRejectedError) ctx.journal.finish(spec.id, index, jobName, null, 'failed', error.message, null)
      throw error
    }
  }, { ...retry, onRetry: ({ error, delayMs }) => ctx.log(`order ${spec.id}: item ${index + 1}: ${(error as Error).message}; trying again in ${delayMs} ms`) })
}

/** Why this printer cannot print the order, checked before anything is sent; null when it can. */
function unsupportedReason(spec: OrderSpec, catalog: Catalog, printer: PrinterDescription): string | null {
  if (!printer.formats.includes('image/jpeg')) return `the printer does not accept JPEG (it takes ${printer.formats.join(', ')})`
  for (const item of spec.items) {
    const product = catalog.products.find((p) => p.id === item.product)
    if (!product) return `unknown product ${item.product}`
    if (printer.media.length > 0 && !printer.media.includes(product.media)) return `the printer has no ${product.media} media for ${product.name}`
  }
  return null
}
