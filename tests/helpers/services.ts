// A PostgreSQL and a Redis for the tests of one file, started before the first test and stopped
// after the last: what the cluster tests that build their relays in-process share.
import type { Test } from 'uvu'
import { startPostgres, type PostgresServer } from './postgres.ts'
import { startRedis, type RedisServer } from './redis.ts'

export interface Services {
  readonly postgres: PostgresServer
  readonly redis: RedisServer
}

/** PostgreSQL runs with fsync off: these tests check what relays agree on, not what survives a crash. */
export function postgresAndRedis(test: Test): Services {
  let postgres: PostgresServer | undefined
  let redis: RedisServer | undefined
  test.before(async () => {
    postgres = await startPostgres({ fsync: 'off' })
    redis = await startRedis()
  })
  test.after(async () => {
    await redis?.stop()
    await postgres?.stop()
  })
  const started = <T>(server: T | undefined, name: string): T => {
    if (server === undefined) throw new Error(`${name} is not started: use it inside a test`)
    return server
  }
  return {
    get postgres() { return started(postgres, 'PostgreSQL') },
    get redis() { return started(redis, 'Redis') },
  }
}
