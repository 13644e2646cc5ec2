// Sync sockets whose peer stopped answering (a phone gone from the store's Wi-Fi, a dead NAT
// mapping) are cut by the server's ping, so their rooms are released; live ones stay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { removeDir, signUp, startRelay } from '../helpers/relay.ts'

test('a socket that answers no ping is cut within two intervals; one that answers stays', async () => {
  const relay = await startRelay({ env: { LABSYNC_HEARTBEAT_MS: '300' } })
  try {
    const me = await signUp(relay.url)
    const open = (autoPong: boolean) => new Promise<{ ws: WebSocket; closedAt: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(`${relay.wsUrl}/sync/user%2F${me.userId}`, { headers: { authorization: `Bearer ${me.token}` }, autoPong })
      const closedAt = new Promise<number>((done) => ws.once('close', () => done(Date.now())))
      ws.once('open', () => resolve({ ws, closedAt }))
      ws.once('error', reject)
    })
    const opened = Date.now()
    const silent = await open(false)
    const live = await open(true)
    const cutAfter = (await Promise.race([silent.closedAt, new Promise<number>((r) => setTimeout(() => r(-1), 5_000))])) - opened
    assert.ok(cutAfter > 0 && cutAfter < 2_000, `the silent socket was cut after ${cutAfter} ms`)
    await new Promise((r) => setTimeout(r, 1_000))
    assert.is(live.ws.readyState, WebSocket.OPEN, 'the socket that answers pings is still open')
    live.ws.close()
  } finally {
    await relay.kill()
    removeDir(relay.dataDir)
  }
})

test.run()
