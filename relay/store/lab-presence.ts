// When each lab node was last heard from (heartbeat, sync socket opened or closed), the
// heartbeat interval it keeps and its printers' states and media: in memory for "online now", in
// lab_presence so a restarted relay still knows when a lab was last seen.
import type { DB } from '../../storage/sqlite/database.ts'
import type { PresenceReport, PrinterPresence } from '../../shared/presence.ts'

/** The heartbeat's shape is shared with the lab node (shared/presence.ts); re-exported for the relay's readers. */
export type { PresenceReport, PrinterPresence }

export interface LabPresence {
  lastSeen: number
  online: boolean
  intervalMs: number
  printers: PrinterPresence[]
}

/** Heartbeats a lab may miss before it is offline: one late or lost beat is not an outage. */
export const MISSED_BEATS = 3
/** The interval assumed for a lab that has connected but never sent a heartbeat. */
export const DEFAULT_INTERVAL_MS = 10_000
/**
 * A lab's last_seen is written at most this often: a heartbeat every second from every lab must
 * not become a write per second each. What is in memory is always current; the row may lag by
 * this much, which is all a restarted relay can lose.
 */
export const WRITE_EVERY_MS = 5_000

interface Row { last_seen: number; interval_ms: number; printers: string }

interface Known { lastSeen: number; intervalMs: number; printers: PrinterPresence[]; writtenAt: number; writtenPrinters: string }

export class LabPresences {
  private readonly stmt
  private readonly known = new Map<string, Known>()
  private closed = false

  constructor(db: DB, private readonly now: () => number = Date.now, private readonly writeEveryMs = WRITE_EVERY_MS) {
    this.stmt = {
      get: db.prepare<[string], Row>('SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = ?'),
      put: db.prepare<[string, number, number, string]>(
        `INSERT INTO lab_presence (lab, last_seen, interval_ms, printers) VALUES (?, ?, ?, ?)
         ON CONFLICT (lab) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), interval_ms = excluded.interval_ms, printers = excluded.printers`),
    }
  }

  /** A heartbeat: stored at once when the printers changed, else at most every writeEveryMs. */
  heartbeat(lab: string, report: PresenceReport): void {
    this.heard(lab, report, false)
  }

  /** The lab's sync socket opened or closed: a sign of life worth keeping at once. */
  connection(lab: string): void {
    this.heard(lab, null, true)
  }

  /** Where the relay stands on `lab`; null when it was never heard from. */
  of(lab: string): LabPresence | null {
    const known = this.load(lab)
    if (!known) return null
    const online = this.now() - known.lastSeen <= MISSED_BEATS * known.intervalMs
    return { lastSeen: known.lastSeen, online, intervalMs: known.intervalMs, printers: known.printers }
  }

  /** Writes what the throttle held back (at shutdown). */
  flush(): void {
    for (const [lab, known] of this.known) if (known.writtenAt < known.lastSeen) this.write(lab, known)
  }

  /**
   * Flushes, then hears nothing more: sockets closing after the relay's database has closed
   * (their close events come later) must not write to it.
   */
  close(): void {
    this.flush()
    this.closed = true
  }

  private heard(lab: string, report: PresenceReport | null, force: boolean): void {
    if (this.closed) return
    const at = this.now()
    const before = this.load(lab)
    const known: Known = before ?? { lastSeen: at, intervalMs: DEFAULT_INTERVAL_MS, printers: [], writtenAt: -Infinity, writtenPrinters: '[]' }
    known.lastSeen = Math.max(known.lastSeen, at)
    if (report) Object.assign(known, { intervalMs: report.intervalMs, printers: report.printers })
    this.known.set(lab, known)
    const changed = !before || JSON.stringify(known.printers) !== known.writtenPrinters
    if (force || changed || at - known.writtenAt >= this.writeEveryMs) this.write(lab, known)
  }

  private write(lab: string, known: Known): void {
    const printers = JSON.stringify(known.printers)
    this.stmt.put.run(lab, known.lastSeen, known.intervalMs, printers)
    known.writtenAt = known.lastSeen
    known.writtenPrinters = printers
  }

  private load(lab: string): Known | null {
    const cached = this.known.get(lab)
    if (cached) return cached
    const row = this.stmt.get.get(lab)
    if (!row) return null
    const known: Known = { lastSeen: row.last_seen, intervalMs: row.interval_ms, printers: JSON.parse(row.printers), writtenAt: row.last_seen, writtenPrinters: row.printers }
    this.known.set(lab, known)
    return known
  }
}
