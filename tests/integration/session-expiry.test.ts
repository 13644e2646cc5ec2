// A customer's session that ends while their socket sends nothing: the relay closes the socket at
// the expiry (4401), not at its next message (a stock client speaks every 15 s; a quiet one never),
// so it stops receiving the documents it had open. The relay is started again with its clock
// (LABSYNC_TEST_CLOCK) a few seconds before the session ends instead of the test waiting 30 days.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { closed, connect, removeDir, signUp, startRelay, synced, tempDir, type RelayProcess } from '../helpers/relay.ts'

const dataDir = tempDir()
let relay: RelayProcess | null = null

test.after(async () => {
  await relay?.stop()
  removeDir(dataDir)
})

test('a quiet socket is closed with 4401 when its session expires', async () => {
  relay = await startRelay({ dataDir, env: { LABSYNC_TEST_CLOCK: '2026-01-01T00:00:00.000Z' } })
  const me = await signUp(relay.url) as Awaited<ReturnType<typeof signUp>> & { expiresAt: string }
  const ends = Date.parse(me.expiresAt) // the sign-up answer says when the session ends
  assert.ok(ends > Date.parse('2026-01-02T00:00:00.000Z'), me.expiresAt)
  await relay.stop()
  relay = await startRelay({ dataDir, env: { LABSYNC_TEST_CLOCK: new Date(ends - 3_000).toISOString() } })

  const device = connect(relay, `user/${me.userId}`, me.token)
  try {
    await synced(device.provider) // the session still holds: 3 s to go
    const opened = Date.now()
    const event = await closed(device.provider, 10_000)
    assert.is(event.code, 4401)
    assert.ok(Date.now() - opened >= 1_500, 'closed at the expiry, not at once')
  } finally {
    device.provider.destroy()
  }
})

test.run()
