// The discount checker's reads of previous receptions, made on demand for a store whose reads are
// asynchronous (PostgreSQL): the decision stays pure and synchronous (orders/decide.ts, shared/
// discount.ts decideFrom, also run in the browser), and is simply run again once a read it asked
// for has been fetched. Exactly the indexed reads the SQLite store makes, never a customer's whole
// history; a decision asks for a handful (the latest per scope, and per tier one narrow band).
import type { CurrentReception, PastReception, PreviousReader } from '../../shared/discount.ts'
import type { DiscountScope } from '../../shared/schema.ts'
import type { PreviousLookup } from '../orders/decide.ts'

export type PreviousRead =
  | { kind: 'latest'; scope: DiscountScope; current: CurrentReception }
  | { kind: 'since'; scope: DiscountScope; current: CurrentReception; fromMs: number }

/** Thrown through the judge when it asks for a read not fetched yet; caught by runWithReads only. */
class MissingRead extends Error {
  constructor(readonly read: PreviousRead) { super('a previous-reception read not fetched yet') }
}

/** More distinct reads than any decision makes (2 rule sets × (1 + tiers)): a judge that never settles is a bug. */
const MAX_READS = 200

const keyOf = (read: PreviousRead): string => JSON.stringify([
  read.kind, read.scope, read.current.user, read.current.front, read.current.lab, read.current.receivedAt.getTime(), read.current.seq,
  read.kind === 'since' ? read.fromMs : null,
])

/**
 * Runs `judge` with a PreviousLookup whose answers come from `fetch`: each read the judge asks for
 * and is not known yet stops the run, is fetched, and the judge runs again. `judge` must be pure.
 */
export async function runWithReads<T>(
  judge: (previous: PreviousLookup) => T,
  fetch: (read: PreviousRead) => Promise<PastReception | null | PastReception[]>,
): Promise<T> {
  const known = new Map<string, PastReception | null | PastReception[]>()
  const answer = <R>(read: PreviousRead): R => {
    const key = keyOf(read)
    if (!known.has(key)) throw new MissingRead(read)
    return known.get(key) as R
  }
  const lookup: PreviousLookup = (scope, current): PreviousReader => ({
    latest: () => answer<PastReception | null>({ kind: 'latest', scope, current }),
    since: (fromMs) => answer<PastReception[]>({ kind: 'since', scope, current, fromMs }),
  })
  for (;;) {
    try {
      return judge(lookup)
    } catch (error) {
      if (!(error instanceof MissingRead)) throw error
      if (known.size >= MAX_READS) throw new Error(`the discount decision asked for more than ${MAX_READS} reads`)
      known.set(keyOf(error.read), await fetch(error.read))
    }
  }
}
