// A photo whose bytes were lost from PostgreSQL's image_bytes table (--images postgres) is put back
// by its owner sending it again: two createRelay()s on one real PostgreSQL 15 and Redis 7, the
// relay that received the photo still holding its own cached copy, the other none.
// (The same with --images DIR, by PUT and by tus: cluster-images-dir.test.ts.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import pg from 'pg'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { createRelay, type Relay } from '../../relay/server.ts'
import { newKeyPair } from '../../shared/signing.ts'
import { postgresAndRedis } from '../helpers/services.ts'
import { getPhoto, makePhoto, putPhoto, removeDir, sha256Hex, signUp, tempDir } from '../helpers/relay.ts'

const services = postgresAndRedis(test)

const put = (relay: Relay, token: string, bytes: Buffer) => putPhoto(relay.url, token, bytes)
const read = (relay: Relay, sha: string, token: string) => getPhoto(relay.url, sha, token)

test('a photo whose image_bytes row was lost is answered 503, and served by every relay once its owner sends it again', async () => {
  const store = await services.postgres.createSchema('images_restore')
  const signingKey = newKeyPair()
  const dirs = [tempDir('labsync-restore-a-'), tempDir('labsync-restore-b-')]
  const relays: Relay[] = []
  const db = new pg.Pool({ connectionString: store, max: 1 })
  try {
    for (const dataDir of dirs) relays.push(await createRelay({ config: parseConfig(DEMO_CONFIG), dataDir, port: 0, signingKey, cluster: { store, fanout: services.redis.url, images: 'postgres' } }))
    const [a, b] = relays as [Relay, Relay]
    const owner = await signUp(a.url)
    const bytes = await makePhoto(11)
    const sha = sha256Hex(bytes)
    assert.is((await put(a, owner.token, bytes)).status, 201)
    await db.query('DELETE FROM image_bytes WHERE sha256 = $1', [sha]) // lost: a restore that missed it
    const lost = await read(b, sha, owner.token)
    assert.is(lost.status, 503, 'relay B has no copy of its own and none in PostgreSQL')
    // Relay A still has its cached copy: what decides is the table, not the cache.
    const again = await put(a, owner.token, bytes)
    assert.is(again.status, 200, await again.text())
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM image_bytes WHERE sha256 = $1', [sha])
    assert.is(rows[0].n, 1, 'the bytes are back in PostgreSQL')
    const served = await read(b, sha, owner.token)
    assert.is(served.status, 200)
    assert.ok(served.body.equals(bytes))
  } finally {
    await db.end()
    for (const relay of relays) await relay.close()
    for (const dir of dirs) removeDir(dir)
  }
})

test.run()
