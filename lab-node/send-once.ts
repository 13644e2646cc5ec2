// Sending one order item to the printer at most once: intent journaled before Print-Job, and
// after a failed or interrupted submit the printer asked (by job name) before sending again.
import type { OrderSpec, Receipt } from '../shared/schema.ts'
import type { FoundJob, Printer, PrinterDescription } from './printers/printer.ts'
import { withRetry } from './printers/follow.ts'
import { PrinterRejectedError } from './printers/errors.ts'
import { renderPrint } from './render.ts'
import type { PrintContext } from './print-order.ts'

/** What the relay's receipt says of the order that the print file's record carries. */
export interface Reception { receivedAt: string; number?: string }

export function receptionOf(receipt: Receipt): Reception {
  return { receivedAt: receipt.receivedAt, number: typeof receipt.number === 'string' ? receipt.number : undefined }
}

/**
 * Sends the item unless the journal or the printer says it was sent already. Intent is journaled
 * before Print-Job; after a failed or interrupted submit the printer is asked (by job name)
 * before sending again. A job found there that ended without printing (a file printer's sidecar
 * whose JPEG a crash cut off, a job aborted or canceled) is not a print: the item goes again.
 */
export async function sendOnce(
  ctx: PrintContext, printer: Printer, description: PrinterDescription, spec: OrderSpec, reception: Reception, index: number,
  item: OrderSpec['items'][number], jobName: string, retry: NonNullable<PrintContext['retry']>,
): Promise<string> {
  const known = ctx.journal.item(spec.id, index)
  if (known?.state === 'sent' && known.jobId) return known.jobId
  const product = ctx.catalog.products.find((p) => p.id === item.product)!
  let rendered: Buffer | null = null
  return withRetry(async () => {
    if (ctx.journal.item(spec.id, index)?.state === 'intent') {
      const found = await printer.findJobs(jobName)
      const live = liveJob(found)
      if (live) {
        ctx.journal.sent(spec.id, index, jobName, live.jobId)
        ctx.log(`order ${spec.id}: item ${index + 1} was already sent as job ${live.jobId}; following it`)
        return live.jobId
      }
      if (found.length) ctx.log(`order ${spec.id}: item ${index + 1}: job ${found.map((j) => `${j.jobId} ${j.state}`).join(', ')} did not print; sending it again`)
    }
    rendered ??= (await renderPrint({
      image: await ctx.link.photo(item.image), product, dpi: description.resolutionDpi,
      template: item.template ?? 'plain', crop: item.crop, templatesDir: ctx.templatesDir,
      record: { order: spec.id, number: reception.number, user: spec.user, receivedAt: reception.receivedAt, front: spec.front, lab: ctx.labId, item: index },
    })).jpeg
    ctx.journal.intend(spec.id, index, jobName)
    try {
      const { jobId } = await printer.submit({ name: jobName, document: rendered, format: 'image/jpeg', copies: item.qty, media: product.media })
      ctx.journal.sent(spec.id, index, jobName, jobId)
      return jobId
    } catch (error) {
      if (error instanceof PrinterRejectedError) ctx.journal.finish(spec.id, index, jobName, null, 'failed', error.message, null)
      throw error
    }
  }, { ...retry, onRetry: ({ error, delayMs }) => ctx.log(`order ${spec.id}: item ${index + 1}: ${(error as Error).message}; trying again in ${delayMs} ms`) })
}

/** The newest job that printed or may still print; aborted and canceled jobs printed nothing. */
function liveJob(found: FoundJob[]): FoundJob | null {
  for (let i = found.length - 1; i >= 0; i--) if (found[i].state !== 'aborted' && found[i].state !== 'canceled') return found[i]
  return null
}
