// Whether a printer can take a job now, and waiting, without limit, until it can: a printer that
// is stopped, paused, out of paper or open holds the lab's orders; it never fails them.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Printer, PrinterDescription } from './printer.ts'
import { PrinterError } from './errors.ts'

/**
 * printer-state-reasons (RFC 8011 §5.4.12, PWG 5100.9) after which a job sent now would not print
 * until someone acts at the printer. Paper running low, a supply low, and the like do not hold.
 */
const BLOCKING_REASONS: ReadonlySet<string> = new Set([
  'paused', 'moving-to-paused', 'shutdown', 'offline', 'stopped-partly', 'timed-out', 'spool-area-full',
  'media-empty', 'media-jam', 'media-needed', 'media-path-failure', 'door-open', 'cover-open', 'interlock-open',
  'input-tray-missing', 'output-tray-missing', 'output-area-full', 'marker-supply-empty', 'toner-empty',
  'marker-waste-full', 'developer-empty', 'fuser-over-temp', 'fuser-under-temp',
])

/**
 * Why the printer cannot print now, or null when it can. A reason counts unless it is only a
 * `-warning`: a real printer says `media-empty-error` (and `stopped`), a simulated one such as
 * ippeveprinter `media-empty-report`, and the paper is gone either way. A queue that lists no
 * media (a raw CUPS queue) cannot be told which paper to use: it waits until it lists some.
 */
export function notReadyReason(description: PrinterDescription): string | null {
  const blocking = description.stateReasons.filter((reason) => {
    const severity = /-(error|warning|report)$/.exec(reason)?.[1]
    return severity !== 'warning' && BLOCKING_REASONS.has(severity ? reason.slice(0, -severity.length - 1) : reason)
  })
  if (description.state === 'stopped') return `printer stopped${description.stateReasons.length ? ` (${description.stateReasons.join(', ')})` : ''}`
  if (blocking.length) return blocking.join(', ')
  if (description.media.length === 0) return 'the printer lists no media sizes (a raw queue?)'
  return null
}

export interface WaitOptions {
  /** First pause between two asks; it doubles up to maxPollMs. */
  pollMs: number
  maxPollMs: number
  signal?: AbortSignal
  /** Called with each new reason the printer is not ready for (not again while it stays the same). */
  onWaiting: (why: string) => void
  /** Called with every description the printer gives; what it throws ends the wait (a lane that finds its media gone re-routes). */
  onDescribed?: (description: PrinterDescription) => void
  /** Checked on every ask: a non-null answer (a cancel, say) ends the wait with WaitStoppedError. */
  stop?: () => string | null
}

/** The wait for a printer ended because something else (`stop`) said so. */
export class WaitStoppedError extends Error {
  override name = 'WaitStoppedError'
}

/**
 * The printer's description once it is ready. A printer that cannot be asked (any PrinterError:
 * unreachable, not answering in IPP) is waited for like one that is stopped; only the signal or
 * `stop` ends the wait early. Any other error is thrown.
 */
export async function waitUntilReady(printer: Printer, options: WaitOptions): Promise<PrinterDescription> {
  let last: string | null = null
  let pauseMs = options.pollMs
  for (;;) {
    options.signal?.throwIfAborted()
    const stopped = options.stop?.()
    if (stopped) throw new WaitStoppedError(stopped)
    let why: string
    try {
      const description = await printer.describe()
      options.onDescribed?.(description)
      const reason = notReadyReason(description)
      if (reason === null) return description
      why = reason
    } catch (error) {
      if (!(error instanceof PrinterError)) throw error
      why = error.message
    }
    if (why !== last) options.onWaiting(why)
    last = why
    try {
      await sleep(pauseMs, undefined, { signal: options.signal })
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason
      throw error
    }
    pauseMs = Math.min(pauseMs * 2, options.maxPollMs)
  }
}
