// GET /healthz, which the balancer (deploy/haproxy.cfg) asks to take a relay out: 200 {ok:true}
// while the relay can serve, 503 {error} with Retry-After when its database is closed or its disk
// is full (a real full tmpfs, so needs root, as disk-full.test.ts), and 200 again once there is room.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { createRelay } from '../../relay/server.ts'
import { HEALTH_RETRY_SECONDS } from '../../relay/http/health.ts'
import { fillFilesystem } from '../helpers/full-disk.ts'
import { removeDir, startRelay, tempDir } from '../helpers/relay.ts'

async function health(url: string): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/healthz`)
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() as Record<string, unknown> }
}

test('200 {ok:true} while the database answers; 503 {error} with Retry-After once it is closed', async () => {
  const dataDir = tempDir('labsync-health-')
  const relay = await createRelay({ config: parseConfig(DEMO_CONFIG), dataDir, port: 0 })
  try {
    const up = await health(relay.url)
    assert.is(up.status, 200)
    assert.is(up.body.ok, true)
    assert.is(typeof up.body.rooms, 'number')
    relay.sqlite!.close() // one machine: createRelay without cluster options has its SQLite database
    const down = await health(relay.url)
    assert.is(down.status, 503)
    assert.is(down.retryAfter, String(HEALTH_RETRY_SECONDS))
    assert.match(String(down.body.error), /the relay cannot serve: the database is closed/)
    assert.is(down.body.ok, undefined)
  } finally {
    await relay.close().catch(() => {}) // its database is closed already: what shuts it down after may complain
    removeDir(dataDir)
  }
})

test('a full disk under the data dir answers 503, and 200 again once there is room', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and needs root (CI runs as root)')
  const mountPoint = tempDir('labsync-health-full-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint])
  const dataDir = join(mountPoint, 'relay')
  mkdirSync(dataDir)
  const relay = await startRelay({ dataDir })
  const filler = join(mountPoint, 'filler')
  try {
    assert.is((await health(relay.url)).status, 200)
    fillFilesystem(filler)
    const full = await health(relay.url)
    assert.is(full.status, 503)
    assert.ok(Number(full.retryAfter) >= 1)
    assert.match(String(full.body.error), /the disk under the data dir is full/)
    rmSync(filler)
    assert.is((await health(relay.url)).status, 200)
  } finally {
    rmSync(filler, { force: true })
    await relay.stop()
    execFileSync('umount', [mountPoint])
    removeDir(mountPoint)
  }
})

test.run()
