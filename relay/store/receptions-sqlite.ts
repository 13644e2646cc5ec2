// The reception store on SQLite (one relay, the embedded default): today's synchronous Receptions
// behind the asynchronous face. One process writes the file, so a decision is atomic by running
// inside one IMMEDIATE transaction, and claims (for sweeps) are kept in memory.
import type { DB } from '../../storage/sqlite/database.ts'
import { Receptions, type Reception } from './receptions.ts'
import type { Judge, ReceiveOutcome, ReceptionStore, DeliveredAs } from './reception-store.ts'
import type { PreviousLookup } from '../orders/decide.ts'
import type { Repricing } from './receptions.ts'

export class SqliteReceptionStore implements ReceptionStore {
  /** The synchronous store, for tests and tools that read the tables directly. */
  readonly tables: Receptions
  /** Orders claimed by a sweep until the instant noted (ms since the epoch). */
  private readonly claims = new Map<string, number>()

  constructor(private readonly db: DB, private readonly now: () => number = Date.now) {
    this.tables = new Receptions(db)
  }

  async get(order: string): Promise<Reception | null> {
    return this.tables.get(order)
  }

  async awaitingSince(order: string, user: string, at: Date): Promise<Date> {
    return this.tables.awaitingSince(order, user, at) // on the store's clock (Receptions.clock)
  }

  async receive(order: string, user: string, at: Date, judge: Judge): Promise<ReceiveOutcome> {
    const { tables } = this
    // IMMEDIATE: see Receptions.record; the judge runs inside, so nothing it read can change before the insert.
    return this.db.transaction((): ReceiveOutcome => {
      const existing = tables.get(order)
      if (existing) return { kind: 'recorded', reception: existing, fresh: false }
      const now = tables.clock(at)
      const firstSeen = tables.awaitingSince(order, user, now)
      const previous: PreviousLookup = (scope, current) => tables.reader(scope, current)
      const verdict = judge({ now, firstSeen, seq: tables.nextSeq(), previous })
      if (verdict.kind === 'waiting') {
        tables.setMissing(order, verdict.missing, verdict.front)
        return { kind: 'waiting', missing: verdict.missing, now, firstSeen }
      }
      return { kind: 'recorded', reception: tables.record(verdict.reception, verdict.images), fresh: true }
    }).immediate()
  }

  async markDelivered(delivered: DeliveredAs): Promise<void> {
    this.tables.markDeliveredAs(delivered)
    this.claims.delete(delivered.order)
  }

  async undelivered(limit: number, claimMs?: number): Promise<Reception[]> {
    return this.claim(this.tables.undelivered(), (r) => r.order, limit, claimMs)
  }

  async cancel(order: string, reprice: (citing: Reception, previous: PreviousLookup) => Repricing): Promise<Reception[]> {
    return this.tables.cancel(order, (citing) => reprice(citing, (scope, current) => this.tables.reader(scope, current)))
  }

  async startedCiting(order: string): Promise<string | null> {
    return this.tables.startedCiting(order)
  }

  async setProgress(order: string, status: string | null): Promise<void> {
    this.tables.setProgress(order, status)
  }

  async reassign(order: string, lab: string): Promise<void> {
    this.tables.reassign(order, lab)
  }

  async labUsesImage(lab: string, sha256: string): Promise<boolean> {
    return this.tables.labUsesImage(lab, sha256)
  }

  async stopWaiting(order: string): Promise<void> {
    this.tables.stopWaiting(order)
  }

  async waitingOrders(options: { user?: string; limit?: number; claimMs?: number } = {}): Promise<string[]> {
    return this.claim(this.tables.waitingOrders(options.user), (order) => order, options.limit ?? Infinity, options.claimMs)
  }

  /** The first `limit` of `all` not claimed now; with `claimMs`, claimed for that long. */
  private claim<T>(all: T[], orderOf: (item: T) => string, limit: number, claimMs?: number): T[] {
    if (claimMs === undefined) return all.slice(0, limit)
    const now = this.now()
    const free = all.filter((item) => (this.claims.get(orderOf(item)) ?? -Infinity) <= now).slice(0, limit)
    for (const item of free) this.claims.set(orderOf(item), now + claimMs)
    if (this.claims.size > 100_000) for (const [order, until] of this.claims) if (until <= now) this.claims.delete(order)
    return free
  }
}
