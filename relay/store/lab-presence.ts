// When each lab node was last heard from (heartbeat, sync socket opened or closed), the
// heartbeat interval it keeps and its printers' states and media: in memory for "online now", in
// lab_presence so a restarted relay (and, in a cluster, every other relay) knows when a lab was
// last seen. The rows live in a PresenceRows: SQLite here, PostgreSQL in lab-presence-postgres.ts.
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
 * this much, which is all a restarted relay can lose, and all another relay of a cluster can miss.
 */
export const WRITE_EVERY_MS = 5_000

/** A lab_presence row. */
export interface PresenceRow { lastSeen: number; intervalMs: number; printers: PrinterPresence[] }

/** Where presence rows are kept. Each write resolves once durable. */
export interface PresenceRows {
  /**
   * Whether other relays write these rows too (a cluster): then a relay's memory is not the whole
   * truth, and the row is read at every question.
   */
  readonly shared: boolean
  get(lab: string): Promise<PresenceRow | null>
  /**
   * A heartbeat's row. last_seen never goes back; interval and printers are replaced unless the
   * row already holds a later sighting (another relay's, in a cluster).
   */
  put(lab: string, row: PresenceRow): Promise<void>
  /** A sign of life without a report: last_seen only (a new row gets the default interval and no printers). */
  touch(lab: string, lastSeen: number): Promise<void>
}

interface Known { lastSeen: number; intervalMs: number; printers: PrinterPresence[]; writtenAt: number; writtenPrinters: string }

export class LabPresences {
  private readonly known = new Map<string, Known>()
  /** Per lab, the sighting being handled: one lab's sightings are handled in order (each may read its row first). */
  private readonly pending = new Map<string, Promise<void>>()
  private closed = false

  constructor(private readonly rows: PresenceRows, private readonly now: () => number = Date.now, private readonly writeEveryMs = WRITE_EVERY_MS) {}

  /** A heartbeat: stored at once when the printers changed, else at most every writeEveryMs. Resolves once stored (if it was). */
  heartbeat(lab: string, report: PresenceReport): Promise<void> {
    return this.heard(lab, report)
  }

  /** The lab's sync socket opened or closed: a sign of life worth keeping at once. */
  connection(lab: string): Promise<void> {
    return this.heard(lab, null)
  }

  /**
   * Where the relay stands on `lab`; null when it was never heard from. In a cluster the row is
   * read each time and the later of it and this relay's memory wins: the lab may talk to another
   * relay. A row another relay wrote may lag that relay's memory by writeEveryMs, so a lab known
   * only from it stays online that much longer: "online" is never denied for the throttle's sake.
   */
  async of(lab: string): Promise<LabPresence | null> {
    const local = this.known.get(lab) ?? null
    const row = this.rows.shared || !local ? await this.rows.get(lab) : null
    // Kept only on one machine, where no one else writes the row; in a cluster a copy of the row
    // would pass for this relay's own sighting.
    if (!local && row && !this.rows.shared) this.known.set(lab, fromRow(row))
    const fromOther = this.rows.shared && row !== null && (local === null || row.lastSeen > local.lastSeen)
    const latest = fromOther || !local ? row : local
    if (!latest) return null
    const grace = fromOther ? this.writeEveryMs : 0
    const online = this.now() - latest.lastSeen <= MISSED_BEATS * latest.intervalMs + grace
    return { lastSeen: latest.lastSeen, online, intervalMs: latest.intervalMs, printers: latest.printers }
  }

  /** Writes what the throttle held back (at shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled(this.pending.values())
    for (const [lab, known] of this.known) if (known.writtenAt < known.lastSeen) await this.write(lab, known)
  }

  /**
   * Flushes, then hears nothing more: sockets closing after the relay's database has closed
   * (their close events come later) must not write to it.
   */
  async close(): Promise<void> {
    this.closed = true
    await this.flush()
  }

  private heard(lab: string, report: PresenceReport | null): Promise<void> {
    if (this.closed) return Promise.resolve()
    const at = this.now()
    const previous = this.pending.get(lab) ?? Promise.resolve()
    const next = previous.then(() => this.apply(lab, report, at))
    const settled = next.catch(() => {}).finally(() => { if (this.pending.get(lab) === settled) this.pending.delete(lab) })
    this.pending.set(lab, settled)
    return next
  }

  private async apply(lab: string, report: PresenceReport | null, at: number): Promise<void> {
    let known = this.known.get(lab)
    // Unknown here: the row says what interval and printers the lab had (a restart, another relay).
    const stored = known ? null : await this.rows.get(lab)
    const first = !known && !stored
    known ??= stored ? fromRow(stored) : { lastSeen: at, intervalMs: DEFAULT_INTERVAL_MS, printers: [], writtenAt: -Infinity, writtenPrinters: '[]' }
    this.known.set(lab, known)
    known.lastSeen = Math.max(known.lastSeen, at)
    if (!report) {
      known.writtenAt = known.lastSeen
      return this.rows.touch(lab, known.lastSeen)
    }
    Object.assign(known, { intervalMs: report.intervalMs, printers: report.printers })
    const changed = first || JSON.stringify(known.printers) !== known.writtenPrinters
    if (changed || at - known.writtenAt >= this.writeEveryMs) await this.write(lab, known)
  }

  private async write(lab: string, known: Known): Promise<void> {
    const printers = JSON.stringify(known.printers)
    const lastSeen = known.lastSeen
    known.writtenAt = lastSeen
    known.writtenPrinters = printers
    await this.rows.put(lab, { lastSeen, intervalMs: known.intervalMs, printers: known.printers })
  }
}

function fromRow(row: PresenceRow): Known {
  return { ...row, writtenAt: row.lastSeen, writtenPrinters: JSON.stringify(row.printers) }
}

interface SqliteRow { last_seen: number; interval_ms: number; printers: string }

/** The embedded default: lab_presence in the relay's SQLite file, written by this relay alone. */
export class SqlitePresenceRows implements PresenceRows {
  readonly shared = false
  private readonly stmt

  constructor(db: DB) {
    this.stmt = {
      get: db.prepare<[string], SqliteRow>('SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = ?'),
      put: db.prepare<[string, number, number, string]>(
        `INSERT INTO lab_presence (lab, last_seen, interval_ms, printers) VALUES (?, ?, ?, ?)
         ON CONFLICT (lab) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen),
           interval_ms = iif(excluded.last_seen >= last_seen, excluded.interval_ms, interval_ms),
           printers = iif(excluded.last_seen >= last_seen, excluded.printers, printers)`),
      touch: db.prepare<[string, number, number]>(
        'INSERT INTO lab_presence (lab, last_seen, interval_ms) VALUES (?, ?, ?) ON CONFLICT (lab) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)'),
    }
  }

  async get(lab: string): Promise<PresenceRow | null> {
    const row = this.stmt.get.get(lab)
    return row ? { lastSeen: row.last_seen, intervalMs: row.interval_ms, printers: JSON.parse(row.printers) } : null
  }

  async put(lab: string, row: PresenceRow): Promise<void> {
    this.stmt.put.run(lab, row.lastSeen, row.intervalMs, JSON.stringify(row.printers))
  }

  async touch(lab: string, lastSeen: number): Promise<void> {
    this.stmt.touch.run(lab, lastSeen, DEFAULT_INTERVAL_MS)
  }
}
