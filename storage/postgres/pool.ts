// Every labsync pool of PostgreSQL connections is opened here, so that no connection's error can
// crash the process: PostgreSQL shutting down (57P01) or a cut network fails the next query on
// that connection instead, and the code holding it rolls back and drops it as for any failure.
import pg from 'pg'

/**
 * A node-postgres Pool with a listener for every connection's 'error', idle or checked out. The
 * pool listens to its idle connections itself, but not to one a store holds between two
 * statements of a transaction: an error arriving then was an unhandled 'error' event that killed
 * the relay (seen when PostgreSQL stopped under load: cluster-faults-postgres).
 */
export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config)
  pool.on('error', () => {}) // an idle connection's: the pool drops it, the next query connects anew
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}
