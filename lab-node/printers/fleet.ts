// The lab's printers as one set: which printer an item's media goes to, and each printer's turn.
// Routing is by media alone, first printer in the order given on the command line, so an item
// goes to the same printer on every run (a restarted node asks that printer whether it was sent).
import type { Printer, PrinterDescription } from './printer.ts'
import { PrinterError } from './errors.ts'

/** One describe() may take this long when routing; a printer that does not answer keeps the media it last listed. */
const DESCRIBE_MS = 3_000

export class PrinterFleet {
  /** The media each printer listed when last asked: a printer that is down for a moment keeps its items. */
  private readonly lastMedia = new Map<Printer, string[]>()
  private readonly turns = new Map<Printer, Promise<void>>()

  constructor(readonly printers: readonly Printer[]) {
    if (printers.length === 0) throw new Error('a lab needs at least one printer')
  }

  /** Remembers what a printer listed, from any describe() the lab made. */
  noted(printer: Printer, description: PrinterDescription): void {
    this.lastMedia.set(printer, description.media)
  }

  /**
   * The first printer holding `media` (asking those not asked yet). When none that answered does,
   * the first that never answered (it may hold it: the item waits there, and moves on once it
   * answers without it); null when every printer answered and none holds it.
   */
  async route(media: string): Promise<Printer | null> {
    await Promise.all(this.printers.filter((p) => !this.lastMedia.has(p)).map((p) => this.refresh(p)))
    return this.printers.find((p) => this.lastMedia.get(p)?.includes(media)) ?? this.printers.find((p) => !this.lastMedia.has(p)) ?? null
  }

  /** Asks every printer again (an item waits for a printer holding its media: one may have appeared). */
  async refreshAll(): Promise<void> {
    await Promise.all(this.printers.map((p) => this.refresh(p)))
  }

  /** The media each printer holds as last seen, for the console (null: not asked yet, or never answered). */
  mediaOf(printer: Printer): string[] | null {
    return this.lastMedia.get(printer) ?? null
  }

  /**
   * Waits for `printer`'s turn (first come, first served), runs `work`, and passes the turn on:
   * an order's items for one printer go out together, not interleaved with another order's.
   */
  async withTurn<T>(printer: Printer, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const before = this.turns.get(printer) ?? Promise.resolve()
    let done!: () => void
    const mine = new Promise<void>((resolve) => (done = resolve))
    const chain = before.then(() => mine)
    this.turns.set(printer, chain)
    try {
      await waitOrAbort(before, signal)
      return await work()
    } finally {
      done()
      if (this.turns.get(printer) === chain) this.turns.delete(printer)
    }
  }

  private async refresh(printer: Printer): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    try {
      const description = await Promise.race([
        printer.describe(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new NoAnswerError()), DESCRIBE_MS) }),
      ])
      this.noted(printer, description)
    } catch (error) {
      // Not reachable or not answering: routing keeps what it last listed (nothing, if never asked).
      if (!(error instanceof PrinterError) && !(error instanceof NoAnswerError)) throw error
    } finally {
      clearTimeout(timer)
    }
  }
}

class NoAnswerError extends Error {
  override name = 'NoAnswerError'
}

/** `promise`, or the signal's reason as soon as it aborts (the turn stays queued and passes on when it comes). */
function waitOrAbort(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise
  signal.throwIfAborted()
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(() => { signal.removeEventListener('abort', onAbort); resolve() })
  })
}
