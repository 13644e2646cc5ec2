// A multiplexed socket whose peer stopped answering is cut by the server's ping like any sync
// socket, and every room it held is released with it: its count against the customer's sockets too.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { newOrderId, removeDir, startRelay, signUp } from '../helpers/relay.ts'
import { openMux, settled } from './sync-mux-raw.ts'

test('a mux socket that answers no ping is cut within two intervals, and a new one may hold as many rooms again', async () => {
  const relay = await startRelay({
    env: { LABSYNC_HEARTBEAT_MS: '300' },
    config: { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, socketsPerCustomer: 4 } },
  })
  try {
    const me = await signUp(relay.url)
    const rooms = [`user/${me.userId}`, `order/${newOrderId()}`, `order/${newOrderId()}`, `order/${newOrderId()}`]
    const silent = await openMux(relay.wsUrl, me.token, { autoPong: false })
    const opened = Date.now()
    for (const room of rooms) silent.join(room)
    for (const room of rooms) assert.is((await settled(silent, room)).closed, null)
    await Promise.race([silent.socketClosed, new Promise((r) => setTimeout(r, 5_000))])
    const cutAfter = Date.now() - opened
    assert.ok(cutAfter < 2_000, `the silent socket was cut after ${cutAfter} ms`)
    const live = await openMux(relay.wsUrl, me.token)
    try {
      for (const room of rooms) live.join(room)
      for (const room of rooms) assert.is((await settled(live, room)).closed, null, room)
      await new Promise((r) => setTimeout(r, 1_000))
      assert.is(live.ws.readyState, live.ws.OPEN, 'the socket that answers pings is still open')
    } finally {
      live.ws.close()
    }
  } finally {
    await relay.kill()
    removeDir(relay.dataDir)
  }
})

test.run()
