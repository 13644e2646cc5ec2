// The lab node's in-store server holds to the same HTTP limits as the relay (sync-server/
// http-limits.ts): a connection whose headers never end is cut, and connections over the cap per
// address are cut at once. Started in-process with tight limits; no relay is needed for this.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { connect as tcpConnect, type Socket } from 'node:net'
import { DEFAULT_LIMITS } from '../../shared/limits.ts'
import { startLanServer, type LanServer } from '../../lab-node/lan/server.ts'
import { removeDir, tempDir, waitFor } from '../helpers/relay.ts'

const TIGHT = { ...DEFAULT_LIMITS, headersTimeoutSeconds: 1, requestTimeoutSeconds: 4, idleTimeoutSeconds: 1, connectionsPerAddress: 8, connections: 16 }

let lan: LanServer
let dataDir: string
const logged: string[] = []
const sockets: Socket[] = []
const timers: NodeJS.Timeout[] = []

test.before(async () => {
  dataDir = tempDir('labsync-instore-limits-')
  // Port 9 (discard) on loopback: nothing answers, the forwarder keeps retrying in the background.
  lan = await startLanServer({
    host: '127.0.0.1', port: 0, dataDir, relayUrl: 'http://127.0.0.1:9', labId: 'lab-1', labKey: 'lab-1-secret',
    limits: TIGHT, log: (line) => logged.push(line),
  })
})
test.after.each(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer)
  for (const socket of sockets.splice(0)) socket.destroy()
  await waitFor(() => lan.connections.open === 0, 'every connection of the test to be gone')
})
test.after(async () => {
  await lan.close()
  removeDir(dataDir)
})

/** A raw TCP connection to the in-store server; `closed` resolves with how long it stayed open. */
function raw(): Promise<{ socket: Socket; closed: Promise<number>; received: () => string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(lan.url)
    const socket = tcpConnect(Number(port), '127.0.0.1')
    sockets.push(socket)
    let received = ''
    const opened = Date.now()
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - opened)))
    socket.on('data', (chunk) => (received += chunk))
    socket.on('error', () => {}) // a reset is one way of being cut
    socket.once('connect', () => resolve({ socket, closed, received: () => received }))
    socket.once('error', reject)
  })
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) }),
  ])
}

test('in store: a request whose headers never end is cut after headersTimeoutSeconds, though bytes keep coming', async () => {
  const conn = await raw()
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: lan\r\nX-Slow: ')
  timers.push(setInterval(() => conn.socket.write('x'), 200))
  const openFor = await within(conn.closed, 3_000, 'the connection closed (the request timeout is 4 s)')
  assert.ok(openFor >= 900, `not before the headers timeout (open ${openFor} ms)`)
})

test('in store: connections over connectionsPerAddress are cut at once, nothing answered; one closing frees a place', async () => {
  const held = await Promise.all(Array.from({ length: TIGHT.connectionsPerAddress }, () => raw()))
  await waitFor(() => lan.connections.open === TIGHT.connectionsPerAddress, 'the server to count them')
  const over = await raw()
  await within(over.closed, 2_000, 'the connection over the cap was cut')
  assert.is(over.received(), '', 'nothing was answered on it')
  assert.ok(lan.connections.refused >= 1)
  held[0].socket.destroy()
  await waitFor(() => lan.connections.open === TIGHT.connectionsPerAddress - 1, 'the server to see it close')
  const res = await fetch(`${lan.url}/healthz`, { headers: { connection: 'close' } })
  assert.is(res.status, 200)
  assert.is((await res.json() as { lab: string }).lab, 'lab-1')
  assert.ok(logged.some((line) => /^lan: refused 1 connection\(s\) over the cap/.test(line)), 'the refusal is logged as the in-store server\'s')
})

test.run()
