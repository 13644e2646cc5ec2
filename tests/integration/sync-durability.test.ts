// "Durable before acknowledged" through the whole relay process, with commits on its writer
// thread: bursts of writes over many rooms, SIGKILL the moment the last one is echoed, and every
// echoed write is there after the restart.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import { connect, startRelay, signUp, synced, waitFor, removeDir, type RelayProcess } from '../helpers/relay.ts'

let relay: RelayProcess
test.before(async () => { relay = await startRelay() })
test.after(async () => {
  await relay.stop()
  removeDir(relay.dataDir)
})

/** The highest clock of `clientId` that an incoming sync update covers (0 for other messages). */
function echoedClock(message: Uint8Array, clientId: number): number {
  const decoder = decoding.createDecoder(message)
  if (decoding.readVarUint(decoder) !== 0) return 0
  if (decoding.readVarUint(decoder) === 0) return 0 // step 1 carries no content
  return Y.parseUpdateMeta(decoding.readVarUint8Array(decoder)).to.get(clientId) ?? 0
}

test('writes echoed in a burst over many rooms all survive SIGKILL right after the last echo', async () => {
  const me = await signUp(relay.url)
  const rooms = 12
  const writes = 40
  const clients = Array.from({ length: rooms }, (_, r) => {
    const c = connect(relay, `user/${me.userId}`, me.token)
    let echoed = 0
    c.provider.on('status', () => {
      ;(c.provider.ws as unknown as WebSocket | null)?.on('message', (data: Buffer) => { echoed = Math.max(echoed, echoedClock(new Uint8Array(data), c.doc.clientID)) })
    })
    return { ...c, r, echoed: () => echoed }
  })
  // One user document, many sockets: each writes its own keys as fast as it can.
  await Promise.all(clients.map((c) => synced(c.provider)))
  for (let i = 0; i < writes; i++) {
    for (const c of clients) c.doc.getMap('burst').set(`s${c.r}-${i}`, i)
    if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await waitFor(() => clients.every((c) => c.echoed() >= Y.getState(c.doc.store, c.doc.clientID)), 'every write echoed', 15_000)
  await relay.kill()
  for (const c of clients) c.provider.destroy() // after the kill: nothing reaches the restarted relay from them
  relay = await relay.restart()
  const reader = connect(relay, `user/${me.userId}`, me.token)
  try {
    await synced(reader.provider)
    assert.is(reader.doc.getMap('burst').size, rooms * writes)
  } finally {
    reader.provider.destroy()
  }
})

test.run()
