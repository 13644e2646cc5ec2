// The embedded relay (SQLite under --data, no cluster) keeps its way of checking tokens, and gains
// what the cluster's does for open sockets: a sign-out closes that session's sockets at once,
// not at their next message, while the customer's other sessions stay.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEMO_CONFIG, parseConfig } from '../../relay/config.ts'
import { createRelay } from '../../relay/server.ts'
import { closed, connect, removeDir, signIn, signUp, synced, tempDir } from '../helpers/relay.ts'

test('a sign-out closes that session\'s open socket at once, and only that session\'s', async () => {
  const dataDir = tempDir('labsync-embedded-accounts-')
  const relay = await createRelay({ config: parseConfig(DEMO_CONFIG), dataDir, port: 0 })
  const ws = { wsUrl: relay.url.replace(/^http/, 'ws') }
  try {
    const me = await signUp(relay.url)
    const other = await signIn(relay.url, me.email)
    const mine = connect(ws, `user/${me.userId}`, me.token)
    const theirs = connect(ws, `user/${me.userId}`, other.token)
    await Promise.all([synced(mine.provider), synced(theirs.provider)])
    const socketClosed = closed(mine.provider, 1_000) // at once: the 5 s re-check would need a message to come first
    const out = await fetch(`${relay.url}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${me.token}` } })
    assert.is(out.status, 200)
    assert.is((await socketClosed).code, 4401)
    assert.ok(theirs.provider.wsconnected, 'the other session\'s socket stays')
    mine.provider.destroy()
    theirs.provider.destroy()
  } finally {
    await relay.close()
    removeDir(dataDir)
  }
})

test.run()
