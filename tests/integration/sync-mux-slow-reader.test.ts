// A slow reader on the multiplexed endpoint: a client that stops reading its `/sync-mux` socket
// and keeps asking for a whole document is cut by the relay once the bytes it left unread pass
// `limits.socketBufferBytes` (sync-server/mux-socket.ts), instead of the relay holding everything
// it asked for; another socket on the same document keeps syncing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import type { Socket } from 'node:net'
import WebSocket from 'ws'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { messageFrame } from '../../shared/mux-frames.ts'
import { MESSAGE_SYNC } from '../../shared/sync-protocol.ts'
import { removeDir, signUp, startRelay, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { openMux, settled, type RawMux } from './sync-mux-raw.ts'

const KiB = 1024
const MiB = 1024 * KiB
const SOCKET_BUFFER = 128 * KiB
let relay: RelayProcess
let inspector: WebSocket
const sockets: RawMux[] = []
test.before(async () => {
  relay = await startRelay({
    // The inspector lets the test force a collection and read what the relay still holds.
    env: { NODE_OPTIONS: '--inspect=127.0.0.1:0' },
    config: {
      ...DEMO_CONFIG,
      // Fast senders are not slowed here: the test is about what the relay holds for a reader.
      limits: { ...DEMO_CONFIG.limits, userDocBytes: 64 * KiB, orderDocBytes: 64 * KiB, socketBufferBytes: SOCKET_BUFFER, writesPerSecond: 100_000, writeBytesPerSecond: 1 << 30 },
    },
  })
  const url = await waitFor(() => /Debugger listening on (ws:\/\/\S+)/.exec(relay.output())?.[1], 'the relay\'s inspector')
  inspector = new WebSocket(url)
  await new Promise((resolve, reject) => { inspector.once('open', resolve); inspector.once('error', reject) })
})
test.after.each(() => { for (const mux of sockets.splice(0)) mux.ws.terminate() })
test.after(async () => {
  inspector.close()
  await relay.kill()
  removeDir(relay.dataDir)
})

async function mux(token: string): Promise<RawMux> {
  const socket = await openMux(relay.wsUrl, token)
  sockets.push(socket)
  return socket
}

/** A sync step 1 with an empty state vector: "send me the whole document". */
const askForEverything = new Uint8Array([MESSAGE_SYNC, 0, 1, 0])

let calls = 0
function inspect(method: string, params: object = {}): Promise<any> {
  const id = ++calls
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown }
      if (message.id === id) { inspector.off('message', onMessage); resolve(message.result) }
    }
    inspector.on('message', onMessage)
    inspector.send(JSON.stringify({ id, method, params }))
  })
}

/** What the relay holds after a full collection: its V8 heap and its buffers' bytes. */
async function relayHolding(): Promise<number> {
  await inspect('HeapProfiler.collectGarbage')
  const answer = await inspect('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })
  const usage = JSON.parse(answer.result.value as string) as { heapUsed: number; arrayBuffers: number }
  return usage.heapUsed + usage.arrayBuffers
}

/** Whether the relay still has its end of the TCP connection from `localPort` open. */
function relayHolds(localPort: number): boolean {
  const relayPort = new URL(relay.url).port
  const out = execFileSync('ss', ['-tnH', 'state', 'established', 'sport', `= :${relayPort}`, 'dport', `= :${localPort}`], { encoding: 'utf8' })
  return out.trim().length > 0
}

test('a reader that stops reading and asks for a 48 KiB document 1,000 times is cut; the relay does not hold the 48 MB it asked for', async () => {
  const me = await signUp(relay.url)
  const room = `user/${me.userId}`
  const writer = await mux(me.token)
  writer.join(room)
  await settled(writer, room)
  await writer.write(room, (doc) => doc.getMap('profile').set('note', 'x'.repeat(48 * KiB)))

  const reader = await mux(me.token)
  reader.join(room)
  await settled(reader, room)
  const tcp = (reader.ws as unknown as { _socket: Socket })._socket
  const localPort = tcp.localPort!
  tcp.pause() // reads nothing more: the relay's answers pile up in the kernel, then in the relay
  const before = await relayHolding()
  for (let i = 0; i < 1_000; i++) reader.ws.send(messageFrame(room, askForEverything))
  await waitFor(() => !relayHolds(localPort), 'the relay to cut the reader', 20_000)
  const grew = await relayHolding() - before
  assert.ok(grew < 8 * MiB, `the relay holds ${(grew / MiB).toFixed(1)} MiB more after the reader asked for 48 MiB`)
  // What reaches the reader now is what the kernels held, not what it asked for: the relay kept none of the rest.
  let received = 0
  tcp.on('data', (chunk: Buffer) => { received += chunk.length })
  const ended = new Promise<void>((resolve) => tcp.once('close', () => resolve()))
  tcp.resume()
  await ended
  assert.ok(received < 24 * MiB, `the reader received ${(received / MiB).toFixed(1)} MiB of the 48 MiB it asked for`)

  // The other socket on the same document is untouched.
  await writer.write(room, (doc) => doc.getMap('profile').set('homeFront', 'demo-store'))
  assert.is(writer.rooms.get(room)!.closed, null)
})

test.run()
