// What one client may hold of a real relay process over HTTP (issue 13, points 7, 8, 12): header,
// request and idle timeouts, connections per address and in all, sign-ins per address and per
// account with back-off, a flood of sign-ins beside another customer's photo traffic, and one
// log line per aborted request.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { connect as tcpConnect, type Socket } from 'node:net'
import { DEMO_CONFIG } from '../../relay/config.ts'
import {
  LABSYNC, connect, makePhoto, removeDir, signUp, startRelay, synced, tempDir, uploadPhoto, waitFor, type RelayProcess,
} from '../helpers/relay.ts'

const started = new Map<string, Promise<RelayProcess>>()
/** One relay per set of limits, started when a test first asks for it. */
function relayWith(limits: object): Promise<RelayProcess> {
  const key = JSON.stringify(limits)
  if (!started.has(key)) started.set(key, startRelay({ config: { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...limits } } }))
  return started.get(key)!
}
/** Short timeouts and small caps; the idle timeout well under the request timeout. */
const TIGHT = { headersTimeoutSeconds: 1, requestTimeoutSeconds: 4, idleTimeoutSeconds: 1, connectionsPerAddress: 8, connections: 16 }
/** Address and account limits out of the way. */
const OPEN = { signInsPerAddress: 1_000_000, signInFailuresPerAccount: 1_000_000 }

/** What a test opened, closed after it whether it passed or not (a socket left open hangs the run). */
const toClose: Array<{ destroy(): void }> = []
test.after.each(() => {
  for (const thing of toClose.splice(0)) thing.destroy()
})
test.after(async () => {
  for (const starting of started.values()) {
    const relay = await starting
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

// ------------------------------------------------------------------ helpers

const portOf = (relay: { url: string }) => Number(new URL(relay.url).port)

/** A raw TCP connection to the relay, with everything it received and whether it was closed. */
interface Raw { socket: Socket; received: () => string; closed: Promise<number>; isClosed: () => boolean }
function raw(relay: { url: string }): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(portOf(relay), '127.0.0.1')
    toClose.push(socket)
    let received = ''
    let isClosed = false
    const opened = Date.now()
    const closed = new Promise<number>((done) => socket.once('close', () => { isClosed = true; done(Date.now() - opened) }))
    socket.on('data', (chunk) => (received += chunk))
    socket.on('error', () => {}) // a reset is one way of being cut
    socket.once('connect', () => resolve({ socket, received: () => received, closed, isClosed: () => isClosed }))
    socket.once('error', reject)
  })
}

/** Writes `byte` every `everyMs` until the socket closes, so the connection is never silent. */
function trickle(conn: Raw, everyMs: number, byte = 'x'): void {
  const timer = setInterval(() => { if (!conn.isClosed()) conn.socket.write(byte) }, everyMs)
  void conn.closed.then(() => clearInterval(timer))
  toClose.push({ destroy: () => clearInterval(timer) })
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) }),
  ])
}

async function postJson(relay: { url: string }, path: string, body: object): Promise<{ status: number; retryAfter: string | null; json: any }> {
  const res = await fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() }
}
const PASSWORD = 'correct horse battery'
const signInAs = (relay: { url: string }, email: string, password = PASSWORD) => postJson(relay, '/api/sessions', { email, password })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ timeouts

test('a request whose headers never end is cut after headersTimeoutSeconds, though bytes keep coming', async () => {
  const relay = await relayWith(TIGHT)
  const conn = await raw(relay)
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ')
  trickle(conn, 200)
  await within(conn.closed, 3_000, 'the connection closed (the request timeout is 4 s)')
})

test('a body that trickles in is cut after requestTimeoutSeconds, though it is never silent', async () => {
  const relay = await relayWith(TIGHT)
  const conn = await raw(relay)
  conn.socket.write(`PUT /api/images/${'a'.repeat(64)} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000000\r\n\r\n`)
  trickle(conn, 200)
  await within(conn.closed, 10_000, 'the connection closed')
})

test('a connection silent for idleTimeoutSeconds mid-request is closed; a sync socket is not (the heartbeat watches it)', async () => {
  const relay = await relayWith(TIGHT)
  const { userId, token } = await signUp(relay.url)
  const { provider } = connect(relay, `user/${userId}`, token)
  toClose.push(provider)
  await synced(provider)
  let socketClosed = false
  provider.on('connection-close', () => { socketClosed = true })
  const conn = await raw(relay)
  conn.socket.write(`PUT /api/images/${'a'.repeat(64)} HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n\r\n`)
  await within(conn.closed, 3_000, 'the silent connection closed (the request timeout is 4 s)')
  await sleep(1_500) // past the idle timeout for the sync socket too
  assert.is(socketClosed, false, 'the sync socket stayed open')
  provider.destroy()
})

// ------------------------------------------------------------------ connection caps

test('connections over connectionsPerAddress are cut at once (a sync socket counts); one closing frees a place', async () => {
  const relay = await relayWith(TIGHT)
  const { userId, token } = await signUp(relay.url)
  const { provider } = connect(relay, `user/${userId}`, token)
  toClose.push(provider)
  await synced(provider)
  const held = await Promise.all(Array.from({ length: 7 }, () => raw(relay)))
  await sleep(200) // the relay has counted them
  const over = await raw(relay)
  await within(over.closed, 2_000, 'the connection over the cap was cut')
  assert.is(over.received(), '', 'nothing was answered on it')
  held[0].socket.destroy()
  await held[0].closed
  await sleep(200) // the relay has seen it close
  const res = await fetch(`${relay.url}/healthz`, { headers: { connection: 'close' } })
  assert.is(res.status, 200)
  await res.arrayBuffer()
  for (const conn of held) conn.socket.destroy()
  provider.destroy()
})

test('a trusted balancer (--trust-proxy) is not held to connectionsPerAddress; the total cap still holds', async () => {
  const relay = await startRelay({
    config: { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...TIGHT } },
    env: { LABSYNC_TRUST_PROXY: '127.0.0.1/32' },
  })
  try {
    const held = await Promise.all(Array.from({ length: 12 }, () => raw(relay))) // over 8 from one address
    await sleep(300) // the relay has counted them
    assert.ok(held.every((conn) => !conn.isClosed()), 'every connection from the balancer is open')
    const more = await Promise.all(Array.from({ length: 5 }, () => raw(relay))) // 17: over the total of 16
    await within(Promise.race(more.map((conn) => conn.closed)), 2_000, 'a connection over the total cap was cut')
    for (const conn of [...held, ...more]) conn.socket.destroy()
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

test('under a low open-file limit the total cap is lowered below it, logged once, and enforced', async () => {
  const dataDir = tempDir()
  const child = spawn('prlimit', ['--nofile=300:300', process.execPath, LABSYNC, 'relay', '--host', '127.0.0.1', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  try {
    const url = await waitFor(() => /relay listening on (\S+)/.exec(output)?.[1], 'the relay to listen', 20_000)
    assert.match(output, /at most 225 connections at once, not limits\.connections 4096: the open-file limit \(ulimit -n\) is 300/)
    const held = await Promise.all(Array.from({ length: 225 }, () => raw({ url })))
    await sleep(300)
    assert.ok(held.every((conn) => !conn.isClosed()), 'every connection under the cap is open')
    const over = await raw({ url })
    await within(over.closed, 2_000, 'the connection over the cap was cut')
    for (const conn of held) conn.socket.destroy()
    await Promise.all(held.map((conn) => conn.closed))
    await sleep(300)
    const res = await fetch(`${url}/healthz`, { headers: { connection: 'close' } })
    assert.is(res.status, 200, 'the relay serves again once they are gone')
    await res.arrayBuffer()
    assert.is(output.match(/at most \d+ connections at once/g)?.length, 1, 'logged once')
    assert.not.match(output, /EMFILE/)
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    removeDir(dataDir)
  }
})

// ------------------------------------------------------------------ sign-in limits

test('sign-ins and sign-ups past signInsPerAddress in a minute answer 429 with Retry-After', async () => {
  const relay = await relayWith({ signInsPerAddress: 5 })
  for (let i = 0; i < 5; i++) assert.is((await signInAs(relay, `nobody${i}@example.test`, 'wrong password')).status, 401)
  const refused = await signInAs(relay, 'nobody@example.test', 'wrong password')
  assert.is(refused.status, 429)
  assert.match(refused.json.error, /too many sign-in attempts from this address/)
  assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60, `Retry-After ${refused.retryAfter}`)
  const signUpRefused = await postJson(relay, '/api/accounts', { email: 'new@example.test', password: PASSWORD, name: 'New' })
  assert.is(signUpRefused.status, 429)
})

test('an account that failed signInFailuresPerAccount times is locked (429, even for the right password), with a back-off that grows', async () => {
  const relay = await relayWith({ signInFailuresPerAccount: 3, signInsPerAddress: 1000 })
  const victim = await signUp(relay.url)
  const other = await signUp(relay.url)
  for (let i = 0; i < 3; i++) assert.is((await signInAs(relay, victim.email, 'wrong password')).status, 401)
  const locked = await signInAs(relay, victim.email)
  assert.is(locked.status, 429, 'the right password is not even checked while locked')
  assert.match(locked.json.error, /too many failed sign-ins for this account/)
  const first = Number(locked.retryAfter)
  assert.ok(first >= 1, `Retry-After ${locked.retryAfter}`)
  assert.is((await signInAs(relay, other.email)).status, 200, 'another account is not locked')

  await sleep(first * 1000 + 200)
  assert.is((await signInAs(relay, victim.email, 'wrong password')).status, 401, 'one more guess once the lock ends')
  const again = await signInAs(relay, victim.email)
  assert.is(again.status, 429)
  const second = Number(again.retryAfter)
  assert.ok(second > first, `the back-off grew: ${first} s, then ${second} s`)

  await sleep(second * 1000 + 200)
  assert.is((await signInAs(relay, victim.email)).status, 200, 'the right password once the lock ends')
  assert.is((await signInAs(relay, victim.email, 'wrong password')).status, 401, 'a success starts the count again')
  assert.is((await signInAs(relay, victim.email)).status, 200)
})

test('a burst of concurrent guesses at one account has no more than signInFailuresPerAccount passwords checked', async () => {
  const relay = await relayWith({ signInFailuresPerAccount: 3, signInsPerAddress: 1000 })
  const victim = await signUp(relay.url)
  const answers = await Promise.all(Array.from({ length: 12 }, () => signInAs(relay, victim.email, 'wrong password')))
  const statuses = answers.map((answer) => answer.status).sort()
  assert.equal(statuses, [...Array(3).fill(401), ...Array(9).fill(429)])
})

// ------------------------------------------------------------------ a sign-in flood beside photo traffic

test('a 64-way sign-in flood does not hold up another customer\'s photo: GETs keep answering while it runs', async () => {
  // Address and account limits out of the way: this is about the password hashing itself.
  const relay = await relayWith(OPEN)
  const customer = await signUp(relay.url)
  const sha = await uploadPhoto(relay.url, customer.token, await makePhoto(7))
  const getPhoto = async () => {
    const startedAt = performance.now()
    const res = await fetch(`${relay.url}/api/images/${sha}`, { headers: { authorization: `Bearer ${customer.token}` } })
    await res.arrayBuffer()
    assert.is(res.status, 200)
    return performance.now() - startedAt
  }
  const quiet: number[] = []
  for (let i = 0; i < 10; i++) quiet.push(await getPhoto())

  // The flood: 64 anonymous sign-ins in flight at all times for FLOOD_MS. Without the hashing gate
  // their scrypt calls filled libuv's pool, where the photo's file reads wait: GETs took seconds.
  const FLOOD_MS = 6_000
  const floodEnds = Date.now() + FLOOD_MS
  let hashed = 0
  let refusedBusy = 0
  let busyRetryAfter: string | null = null
  const flood = Promise.all(Array.from({ length: 64 }, async (_, worker) => {
    for (let n = 0; Date.now() < floodEnds; n++) {
      const answer = await signInAs(relay, `flood${worker}-${n}@example.test`, 'wrong password')
      if (answer.status === 401) hashed++
      else if (answer.status === 503) {
        refusedBusy++
        busyRetryAfter = answer.retryAfter
      }
      else throw new Error(`flood sign-in answered ${answer.status}`)
    }
  }))

  await sleep(500) // the flood is under way
  const during: number[] = []
  while (Date.now() < floodEnds) {
    const ms = await getPhoto()
    if (Date.now() < floodEnds) during.push(ms) // answered while the flood still ran
  }
  await flood
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN
  console.log(`photo GET: quiet median ${median(quiet).toFixed(1)} ms; during the flood median ${median(during).toFixed(1)} ms, ` +
    `max ${Math.max(...during).toFixed(1)} ms, ${during.length} GETs in ${FLOOD_MS - 500} ms; flood: ${hashed} passwords checked, ${refusedBusy} answered 503`)
  assert.ok(hashed > 0, 'the flood had passwords checked')
  assert.ok(refusedBusy > 0 && Number(busyRetryAfter) >= 1, 'past the hashing queue, sign-ins answer 503 with Retry-After')
  assert.ok(during.length >= 5, `only ${during.length} photo GETs answered while the flood ran`)
})

// ------------------------------------------------------------------ aborted requests

test('a request body cut off by its client is logged in one line, without a stack', async () => {
  const relay = await relayWith(OPEN)
  const { token } = await signUp(relay.url)
  await uploadPhoto(relay.url, token, await makePhoto(1)) // the image routes are loaded
  const before = relay.output().split('\n').length
  const conn = await raw(relay)
  const path = `/api/images/${'b'.repeat(64)}`
  conn.socket.write(`PUT ${path} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n`)
  conn.socket.write(Buffer.alloc(5_000))
  await sleep(300)
  conn.socket.destroy()
  await waitFor(() => relay.output().includes(path), 'the log line')
  await sleep(500) // anything else it would log
  const lines = relay.output().split('\n').slice(before - 1).filter((line) => line.trim() !== '')
  assert.is(lines.length, 1, `logged:\n${lines.join('\n')}`)
  assert.match(lines[0], /PUT \/api\/images\/b{64} from 127\.0\.0\.1 ended before the end of its body/)
  assert.not.match(lines[0], /Bearer|token/)
})

test.run()
