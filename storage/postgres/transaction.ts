// One PostgreSQL transaction on a pool's connection: BEGIN, the work, COMMIT; ROLLBACK and the
// error when anything fails. What every PostgreSQL store here runs its multi-statement writes in.
import type pg from 'pg'

/**
 * Runs `work` in a transaction on one of the pool's connections and returns what it returns. A
 * connection that could not even roll back is not handed out again (its state is unknown): the
 * pool replaces it.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: Error) => { broken = rollback })
    throw error
  } finally {
    client.release(broken)
  }
}
