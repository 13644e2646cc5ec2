// What lab nodes report back: history entries pushed into `lab/<id>` (stored once, a reprint kept
// as such with its reason, then removed from the document, which tells the lab they are durable here), and an order's progress (kept
// with its reception for the cancel rule; a printed order leaves the lab's queue).
import type { HistoryEntry, QueueEntry } from '../../shared/schema.ts'
import { labRoom } from '../room-names.ts'
import type { Principal } from '../../shared/rights.ts'
import type { HistoryStore, ReportedEntry } from '../store/history.ts'
import type { ReceptionStore } from '../store/reception-store.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import { RELAY_ORIGIN, type Room } from '../../sync-server/room.ts'
import { settleWithin } from './settle.ts'

export class LabReports {
  constructor(private readonly deps: { rooms: Rooms; history: HistoryStore; receptions: ReceptionStore; now: () => number }) {}

  onChange(room: Room, origin: Principal | typeof RELAY_ORIGIN): void {
    if (origin === RELAY_ORIGIN) return
    if (room.name.kind === 'lab') this.report(this.ingest(room), room)
    if (room.name.kind === 'order' && origin.kind === 'lab') this.report(this.noteProgress(room), room)
  }

  /** Reports being handled now: a relay shutting down waits for them (settled). */
  private readonly inFlight = new Set<Promise<void>>()

  /** A lab report that fails is logged, never left to crash the relay; the lab resends it. */
  private report(work: Promise<void>, room: Room): void {
    const handled = work.catch((error: Error) => console.error(`relay: handling a report in ${room.name.name} failed: ${error.message}`))
    this.inFlight.add(handled)
    void handled.finally(() => this.inFlight.delete(handled))
  }

  /**
   * Resolves once the reports being handled have been, or after `limitMs`: a relay shutting down
   * waits for them before it closes its rooms and tells the others it is leaving (after which none
   * re-reads what it left undone).
   */
  settled(limitMs = 5_000): Promise<void> {
    return settleWithin(this.inFlight, limitMs)
  }

  /**
   * A lab document loaded after a crash may hold entries pushed but not yet stored; an order's
   * progress may have been stored just before a crash, before it was noted with its reception (and
   * a printed order still in its lab's queue). The same on a re-read after another relay died.
   */
  onLoad(room: Room): void {
    if (room.name.kind === 'lab') this.report(this.ingest(room), room)
    if (room.name.kind === 'order') this.report(this.noteProgress(room), room)
  }

  /**
   * Keeps progress.status with the reception (only while the order is its lab's), so the intake's
   * beforeWrite can tell, without opening other orders, whether an order citing one is printing.
   */
  private noteProgress(room: Room): Promise<void> {
    if (room.name.kind !== 'order') return Promise.resolve()
    // One order's notes run one after another, so the last one (which reads the latest status) is
    // stored last: on a PostgreSQL pool two UPDATEs sent at once may commit in either order, and
    // a lab's `printing` then `printed` a few ms apart left `printing` with the reception.
    const order = room.name.orderId
    const next = (this.noting.get(order) ?? Promise.resolve()).catch(() => undefined).then(() => this.storeProgress(room))
    this.noting.set(order, next)
    next.finally(() => { if (this.noting.get(order) === next) this.noting.delete(order) }).catch(() => undefined)
    return next
  }

  /** Per order, its latest progress note (running or queued). */
  private readonly noting = new Map<string, Promise<void>>()

  private async storeProgress(room: Room): Promise<void> {
    if (room.name.kind !== 'order') return
    const order = room.name.orderId
    const reception = await this.deps.receptions.get(order)
    // Read after the await: of two reports in quick succession, each notes the latest status.
    const status = room.doc.getMap('progress').get('status')
    if (!reception || reception.lab !== room.facts().lab) return
    const progress = typeof status === 'string' ? status.slice(0, 32) : null
    // Already noted (a room loaded or re-read again): nothing to write.
    if (reception.progress === progress) return
    // A printed order leaves its lab's queue before its reception says printed: a relay that dies
    // in between leaves the reception to be noted again (on the room's next load or re-read), and
    // the queue entry with it.
    if (progress === 'printed') {
      await this.deps.rooms.borrow(labRoom(reception.lab), (queueRoom) => queueRoom.writeAsRelay((doc) => {
        const queue = doc.getMap<QueueEntry>('queue')
        if (queue.has(order)) queue.delete(order)
      }))
    }
    await this.deps.receptions.setProgress(order, progress)
  }

  private async ingest(room: Room): Promise<void> {
    if (room.name.kind !== 'lab') return
    const lab = room.name.labId
    const array = room.doc.getArray<HistoryEntry>('history')
    if (array.length === 0) return
    const entries = array.toArray()
    const valid = entries.filter(isHistoryEntry)
    if (valid.length < entries.length) console.error(`relay: lab ${lab} sent ${entries.length - valid.length} malformed history entr(y/ies); dropped`)
    const ours = await this.labsOrders(lab, valid)
    // Stored before the entries leave the document: a crash in between makes the lab's report come
    // back (on the room's next load), and the entry ids make the second storing a no-op, on any relay.
    await this.deps.history.record(lab, valid.filter((e) => ours.has(e.order)), new Date(this.deps.now()))
    const stored = new Set(entries)
    await room.writeAsRelay((doc) => {
      const history = doc.getArray<HistoryEntry>('history')
      // Delete from the end so indexes stay valid; only what was stored above.
      for (let i = history.length - 1; i >= 0; i--) if (stored.has(history.get(i))) history.delete(i, 1)
    }).catch((error: Error) => console.error(`relay: acknowledging history of lab ${lab} failed: ${error.message}`))
  }

  /** The orders among `entries` that are `lab`'s by their reception (each order asked once). */
  private async labsOrders(lab: string, entries: ReportedEntry[]): Promise<Set<string>> {
    const ours = new Set<string>()
    for (const order of new Set(entries.map((e) => e.order))) if ((await this.deps.receptions.get(order))?.lab === lab) ours.add(order)
    return ours
  }
}

/** item and copies are integer columns in both stores; one beyond them would fail its whole report in PostgreSQL, at every retry. */
const isInt32 = (value: unknown): boolean => Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31 - 1

/**
 * The fields every entry needs. The additive ones (`reprint`, `reason`) never make an entry malformed:
 * History keeps a reprint only when it says `reprint: true`, and a reason only as text, cut to its bound.
 */
function isHistoryEntry(value: unknown): value is ReportedEntry {
  const e = value as Record<string, unknown>
  return typeof e === 'object' && e !== null && typeof e.id === 'string' && e.id.length <= 200 &&
    typeof e.order === 'string' && isInt32(e.item) && typeof e.printer === 'string' &&
    (typeof e.job === 'string' || typeof e.job === 'number') && isInt32(e.copies) &&
    typeof e.status === 'string' && typeof e.printedAt === 'string' && !Number.isNaN(Date.parse(e.printedAt))
}

