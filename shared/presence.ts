// The lab node's heartbeat as it travels to the relay (POST /api/labs/presence): its one shape and
// its bounds, so the lab node builds what the relay accepts and one lab cannot make the relay keep
// (and list) anything large. Pure: the lab node bounds with it, the relay checks with it.
import { BadRequestError } from './errors.ts'

/** One printer as the lab node last described it (Printer.describe()). */
export interface PrinterPresence {
  uri: string
  /** idle | processing | stopped as IPP says, or unreachable. */
  state: string
  /** printer-state-reasons without `none`, e.g. `media-empty-error`. */
  reasons: string[]
  /**
   * The media it holds, as PWG 5101.1 names (`na_index-4x6_4x6in`), listed by the printer or
   * stated by the operator. Absent from lab nodes older than this field, and for an unreachable printer.
   */
  media?: string[]
}

/** What a lab node says in a heartbeat. */
export interface PresenceReport {
  /** How often it reports; the relay calls it offline after a few of these without a word. */
  intervalMs: number
  printers: PrinterPresence[]
}

export const MAX_PRINTERS = 32
export const MAX_REASONS = 16
/** A lab node before this module sent at most 50 media a printer; the bound takes what it sent. */
export const MAX_MEDIA = 50
/** A URI, state, reason or media name: IPP keywords are shorter, a URI may be longer than a keyword. */
export const MAX_TEXT = 200
export const INTERVAL_MS = { min: 100, max: 3_600_000 } as const

/**
 * The media a printer lists, as much as a heartbeat carries: the first MAX_MEDIA names that fit
 * MAX_TEXT (a printer listing more, or a name longer, must not cost the lab its whole heartbeat).
 */
export function boundedMedia(media: readonly string[]): string[] {
  return media.filter((name) => typeof name === 'string' && name.length > 0 && name.length <= MAX_TEXT).slice(0, MAX_MEDIA)
}

/** A heartbeat's body, checked and copied field by field; anything else throws BadRequestError naming the field. */
export function parsePresenceReport(body: Record<string, unknown>): PresenceReport {
  const { intervalMs, printers } = body
  if (!Number.isInteger(intervalMs) || (intervalMs as number) < INTERVAL_MS.min || (intervalMs as number) > INTERVAL_MS.max) {
    throw new BadRequestError(`intervalMs must be an integer from ${INTERVAL_MS.min} to ${INTERVAL_MS.max}`)
  }
  if (!Array.isArray(printers) || printers.length > MAX_PRINTERS) throw new BadRequestError(`printers must be an array of at most ${MAX_PRINTERS}`)
  return { intervalMs: intervalMs as number, printers: printers.map(parsePrinter) }
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT

function parsePrinter(value: unknown): PrinterPresence {
  const p = value as Record<string, unknown>
  if (typeof p !== 'object' || p === null || !isText(p.uri) || !isText(p.state)) throw new BadRequestError(`each printer needs uri and state (text up to ${MAX_TEXT} characters)`)
  if (!Array.isArray(p.reasons) || p.reasons.length > MAX_REASONS || !p.reasons.every(isText)) {
    throw new BadRequestError(`a printer's reasons must be an array of at most ${MAX_REASONS} texts`)
  }
  const printer: PrinterPresence = { uri: p.uri, state: p.state, reasons: [...p.reasons] }
  if (p.media === undefined) return printer
  if (!Array.isArray(p.media) || p.media.length > MAX_MEDIA || !p.media.every(isText)) {
    throw new BadRequestError(`a printer's media must be an array of at most ${MAX_MEDIA} names of up to ${MAX_TEXT} characters`)
  }
  return { ...printer, media: [...p.media] }
}
