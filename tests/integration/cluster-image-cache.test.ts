// A cluster relay's copies of photos (--images postgres) stay within imageCacheBytes
// (LABSYNC_IMAGE_CACHE_BYTES) over HTTP: two createRelay()s on one real PostgreSQL 15 and Redis 7,
// one receiving, one serving, each keeping its cap while every photo is still served with its
// bytes. A relay on one machine (SQLite) keeps every photo whatever the cap: its files are the store.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { createRelay, type Relay } from '../../relay/server.ts'
import { newKeyPair } from '../../shared/signing.ts'
import { cachedBytes, copyOf } from '../helpers/photo-copies.ts'
import { postgresAndRedis } from '../helpers/services.ts'
import { getPhoto, makePhoto, putPhoto, removeDir, sha256Hex, signUp, tempDir, waitFor } from '../helpers/relay.ts'

const services = postgresAndRedis(test)

const put = (relay: Relay, token: string, bytes: Buffer) => putPhoto(relay.url, token, bytes)
async function read(relay: Relay, sha: string, token: string): Promise<Buffer> {
  const { status, body } = await getPhoto(relay.url, sha, token)
  assert.is(status, 200, `GET ${sha}`)
  return body
}

test('past imageCacheBytes a cluster relay removes its least recently used copies and serves every photo again', async () => {
  const store = await services.postgres.createSchema('image_cache')
  const signingKey = newKeyPair()
  const photos = await Promise.all([0, 1, 2, 3, 4, 5].map((seed) => makePhoto(seed + 20)))
  const cap = 3 * Math.max(...photos.map((bytes) => bytes.length))
  const dirs = [tempDir('labsync-cache-a-'), tempDir('labsync-cache-b-')]
  const relays: Relay[] = []
  try {
    for (const dataDir of dirs) {
      relays.push(await createRelay({ config: parseConfig(DEMO_CONFIG), dataDir, port: 0, signingKey, imageCacheBytes: cap, cluster: { store, fanout: services.redis.url, images: 'postgres' } }))
    }
    const [a, b] = relays as [Relay, Relay]
    const [dirA, dirB] = dirs as [string, string]
    const owner = await signUp(a.url)
    for (const bytes of photos) {
      assert.is((await put(a, owner.token, bytes)).status, 201)
      assert.ok(cachedBytes(dirA) <= cap, `relay A holds ${cachedBytes(dirA)} bytes of copies, cap ${cap}`)
    }
    assert.not.ok(existsSync(copyOf(dirA, sha256Hex(photos[0]))), 'relay A kept the photo it received first')
    const shas = photos.map((bytes) => sha256Hex(bytes))
    for (const [n, sha] of shas.entries()) assert.ok((await read(b, sha, owner.token)).equals(photos[n]), `photo ${n} from relay B`)
    // The copies just handed to readers are kept a moment (so that each GET could open its own).
    await waitFor(() => cachedBytes(dirB) <= cap, `relay B within its cap of ${cap} bytes`, 5000)
    assert.not.ok(existsSync(copyOf(dirB, shas[0])), 'relay B kept the photo it served least recently')
    assert.ok(existsSync(copyOf(dirB, shas[5])), 'relay B removed the photo it served last')
    for (const [n, sha] of shas.entries()) {
      assert.ok((await read(a, sha, owner.token)).equals(photos[n]), `photo ${n} again from relay A`)
      assert.ok((await read(b, sha, owner.token)).equals(photos[n]), `photo ${n} again from relay B`)
    }
    await waitFor(() => cachedBytes(dirA) <= cap && cachedBytes(dirB) <= cap, 'both relays within their cap again', 5000)
  } finally {
    for (const relay of relays) await relay.close()
    for (const dir of dirs) removeDir(dir)
  }
})

test('a relay on one machine keeps every photo whatever imageCacheBytes says: its files are the store', async () => {
  const dataDir = tempDir('labsync-cache-sqlite-')
  const relay = await createRelay({ config: parseConfig(DEMO_CONFIG), dataDir, port: 0, imageCacheBytes: 1 })
  try {
    const owner = await signUp(relay.url)
    const photos = await Promise.all([0, 1, 2].map((seed) => makePhoto(seed + 40)))
    for (const bytes of photos) assert.is((await put(relay, owner.token, bytes)).status, 201)
    for (const bytes of photos) {
      assert.ok((await read(relay, sha256Hex(bytes), owner.token)).equals(bytes))
      assert.ok(existsSync(copyOf(dataDir, sha256Hex(bytes))))
    }
  } finally {
    await relay.close()
    removeDir(dataDir)
  }
})

test.run()
