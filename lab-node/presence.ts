// The lab node's heartbeat: asks its printers how they are every few seconds and tells the relay
// (POST /api/labs/presence) at once when that changed, else every `intervalMs`, so the admin sees
// whether the lab is online now, when it was last seen and each printer's state.
import type { Printer } from './printers/printer.ts'
import { PrinterError } from './printers/errors.ts'
import { boundedMedia, type PresenceReport, type PrinterPresence } from '../shared/presence.ts'

/**
 * What the relay is told: one shape with the relay's check (shared/presence.ts). `media` is what each
 * printer holds (stated or listed), so the admin sees where each size can go; older relays ignore it.
 */
export type { PresenceReport }

export interface PresenceTarget {
  relayUrl: string
  labId: string
  key: string
}

export interface PresenceOptions {
  /** How often the relay hears from the lab when nothing changes. */
  intervalMs: number
  /** How often the printers are asked; a change is reported on the next check. Default min(2 s, intervalMs). */
  checkMs?: number
  log: (line: string) => void
  now?: () => number
}

export interface Presence {
  /** Asks the printers and reports now, whatever the interval; resolves when the relay answered (or failed to). */
  reportNow(): Promise<void>
  stop(): void
}

/** The lab reports every 10 s unless told more often: the admin sees an outage within 30 s. */
export const PRESENCE_INTERVAL_MS = 10_000

/**
 * The heartbeat interval of a lab node run with --history-interval SECONDS: 10 s, or as often as
 * it sends history when that is more often (a lab that wants the relay up to date within a
 * second wants its presence too; tests run with 1 s). Never below the relay's 100 ms floor.
 */
export function presenceIntervalMs(historyIntervalSeconds: number): number {
  return Math.max(100, Math.round(Math.min(PRESENCE_INTERVAL_MS, historyIntervalSeconds * 1000)))
}
const CHECK_MS = 2_000
/** A printer or relay that does not answer within this is reported as such, not waited for. */
const ANSWER_MS = 5_000

export function startPresence(target: PresenceTarget, printers: Printer[], options: PresenceOptions): Presence {
  const now = options.now ?? Date.now
  const checkMs = options.checkMs ?? Math.min(CHECK_MS, options.intervalMs)
  let lastSent = -Infinity
  let lastPrinters = ''
  let failing = false
  let stopped = false
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> = Promise.resolve()

  async function check(force: boolean): Promise<void> {
    const report: PresenceReport = { intervalMs: options.intervalMs, printers: await Promise.all(printers.map(describe)) }
    const printersNow = JSON.stringify(report.printers)
    if (!force && printersNow === lastPrinters && now() - lastSent < options.intervalMs) return
    try {
      await send(target, report)
      lastSent = now()
      lastPrinters = printersNow
      if (failing) options.log('presence: the relay hears from the lab again')
      failing = false
    } catch (error) {
      // Logged once per outage, not every beat; the next check tries again.
      if (!failing) options.log(`presence: telling the relay failed (${(error as Error).message}); retrying every ${checkMs} ms`)
      failing = true
    }
  }

  function run(force: boolean): Promise<void> {
    running = running.then(() => (stopped ? undefined : check(force)))
    return running
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => void run(false).then(schedule), checkMs)
    timer.unref()
  }

  void run(true).then(schedule)
  return {
    reportNow: () => run(true),
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

/** A printer's state as reported; one that cannot be asked is `unreachable` with the error's class as reason. */
async function describe(printer: Printer): Promise<PrinterPresence> {
  const uri = withoutCredentials(printer.uri)
  try {
    const d = await withTimeout(printer.describe(), ANSWER_MS, `printer ${uri} did not answer`)
    return { uri, state: d.state, reasons: d.stateReasons, media: boundedMedia(d.media) }
  } catch (error) {
    return { uri, state: 'unreachable', reasons: [error instanceof PrinterError ? error.name : 'no-answer'] }
  }
}

async function send(target: PresenceTarget, report: PresenceReport): Promise<void> {
  const res = await fetch(`${target.relayUrl.replace(/\/$/, '')}/api/labs/presence`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(report),
    signal: AbortSignal.timeout(ANSWER_MS),
  })
  await res.body?.cancel()
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
}

/** A printer URI may carry a user and password (ipp://user:pw@host/…): the relay never gets them. */
export function withoutCredentials(uri: string): string {
  if (!/^ipps?:\/\//i.test(uri)) return uri
  try {
    const url = new URL(uri)
    if (!url.username && !url.password) return uri
    url.username = ''
    url.password = ''
    return url.toString()
  } catch {
    return uri
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
