// The shipped deploy/haproxy.cfg in a real haproxy in front of two real relays on loopback:
// https reaches a relay and round-robins; a /sync/<room> WebSocket (wss) for one room always
// lands on one relay while rooms spread over both, and syncs; the relays learn the client's
// address from X-Forwarded-For (--trust-proxy 127.0.0.1/32) and no forged hop fools them; a
// relay SIGKILLed is taken out by the /healthz check and everything goes to the other.
// Which relay answered: haproxy's X-Labsync-Relay response header (the config sets it).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:https'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { startHaproxy, type Haproxy } from '../helpers/haproxy.ts'
import { removeDir, startRelay, synced, tempDir, waitFor, type RelayProcess } from '../helpers/relay.ts'

const LAB_KEY = 'demo-lab-key' // in the demo config every relay shares: valid on both
let dir = ''
let relays: RelayProcess[] = []
let proxy: Haproxy

/**
 * Two relays and haproxy, started by the first test that asks (not in test.before: uvu 0.5
 * swallows an error thrown there and exits 0 with no test run, so a missing haproxy would pass).
 */
let ready: Promise<void> | null = null
const setUp = () => (ready ??= (async () => {
  dir = tempDir('labsync-haproxy-')
  const config = { ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, signInsPerAddress: 2 } }
  relays = await Promise.all([0, 1].map(() => startRelay({ config, env: { LABSYNC_TRUST_PROXY: '127.0.0.1/32' } })))
  proxy = await startHaproxy(dir, relays.map((relay, i) => ({ name: `relay${i + 1}`, address: new URL(relay.url).host })))
})())

test.after(async () => {
  await proxy?.stop()
  for (const relay of relays) {
    await relay.stop()
    removeDir(relay.dataDir)
  }
  if (dir) removeDir(dir)
})

interface Answer { status: number; relay: string | undefined; body: string }

/** An https request through the balancer, trusting its certificate; `from` picks the client's loopback address. */
function https(path: string, options: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}${path}`, { method: options.method ?? 'GET', headers: options.headers, ca: proxy.ca, localAddress: options.from, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, relay: res.headers['x-labsync-relay'] as string | undefined, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The relay a wss /sync/<room> upgrade lands on (no token: the relay then closes it, 4401). */
function landsOn(room: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${proxy.url.replace(/^https/, 'wss')}/sync/${room}`, { ca: proxy.ca })
    ws.once('upgrade', (res) => {
      resolve(String(res.headers['x-labsync-relay']))
      ws.terminate()
    })
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

test('https through the balancer reaches the relays, round-robin', async () => {
  await setUp()
  const seen = new Set<string>()
  for (let i = 0; i < 6; i++) {
    const answer = await https('/healthz')
    assert.is(answer.status, 200)
    assert.is(JSON.parse(answer.body).ok, true)
    seen.add(answer.relay!)
  }
  assert.equal([...seen].sort(), ['relay1', 'relay2'])
  assert.is((await https('/api/prices')).status, 200)
})

test('a room\'s sockets always land on one relay, rooms spread over both, and a room syncs over wss', async () => {
  await setUp()
  const rooms = Array.from({ length: 16 }, (_, i) => `user/u${i}`)
  const placed = new Map<string, string>()
  for (const room of rooms) {
    const where = new Set<string>()
    for (let i = 0; i < 3; i++) where.add(await landsOn(room))
    assert.is(where.size, 1, `${room} landed on ${[...where]}`)
    placed.set(room, [...where][0])
  }
  const counts = [...placed.values()].reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>())
  console.log(`16 rooms over 2 relays: ${[...counts].map(([r, n]) => `${r} ${n}`).join(', ')}`)
  assert.is(counts.size, 2, 'the rooms all landed on one relay')
  // A real sync, through TLS and the tunnel: the lab's own room, with the key both relays know.
  const ca = proxy.ca
  class TrustingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) { super(address, protocols, { ca }) }
  }
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${proxy.url.replace(/^https/, 'wss')}/sync`, 'catalog', doc, {
    params: { token: LAB_KEY }, WebSocketPolyfill: TrustingWebSocket as unknown as typeof globalThis.WebSocket, disableBc: true,
  })
  try {
    await synced(provider, 10_000)
    assert.ok(doc.getMap('catalog').get('products'), 'the catalog arrived over wss')
  } finally {
    provider.destroy()
    provider.awareness.destroy()
  }
})

test('the relays take the client\'s address from haproxy\'s X-Forwarded-For; a forged hop changes nothing', async () => {
  await setUp()
  const signIn = (from: string, forged: string) => https('/api/sessions', {
    method: 'POST', from, headers: { 'content-type': 'application/json', 'x-forwarded-for': forged },
    body: JSON.stringify({ email: 'nobody@example.test', password: 'wrong password' }),
  })
  // 2 sign-ins per address a minute on each relay, round-robin: 4 from 127.0.0.2 pass (as 401),
  // whatever address each claims, and the next ones are refused on both relays.
  const first = await Promise.all([0, 1, 2, 3].map((i) => signIn('127.0.0.2', `198.51.100.${i}`)).map((p, i) => new Promise<Answer>((r) => setTimeout(() => r(p), i * 50))))
  assert.equal(first.map((a) => a.status), [401, 401, 401, 401], JSON.stringify(first))
  for (let i = 0; i < 2; i++) assert.is((await signIn('127.0.0.2', `203.0.113.${i}`)).status, 429)
  // Another client behind the same balancer keeps its own allowance.
  assert.is((await signIn('127.0.0.3', '198.51.100.9')).status, 401)
  assert.is((await signIn('127.0.0.3', '198.51.100.9')).status, 401)
})

test('a relay SIGKILLed is taken out by the /healthz check: requests and its rooms go to the other', async () => {
  await setUp()
  const rooms = Array.from({ length: 16 }, (_, i) => `order/o${i}`)
  const before = new Map<string, string>()
  for (const room of rooms) before.set(room, await landsOn(room))
  const killedAt = Date.now()
  await relays[0].kill()
  let failed = 0
  let answered = 0
  let allOnRelay2Since = 0
  // Every 50 ms until 20 answers in a row come from relay2.
  for (let streak = 0; streak < 20;) {
    assert.ok(Date.now() - killedAt < 10_000, `relay2 not answering alone 10 s after the kill (${failed} failed): ${proxy.output().slice(-2000)}`)
    const answer = await https('/healthz').catch(() => null)
    if (!answer || answer.status !== 200) failed++
    else answered++
    if (answer?.status === 200 && answer.relay === 'relay2') {
      if (streak++ === 0) allOnRelay2Since = Date.now()
    } else {
      streak = 0
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await waitFor(() => /Server relays\/relay1 is DOWN/.test(proxy.output()), 'haproxy to mark relay1 DOWN', 10_000)
  const downAt = Date.now()
  console.log(`after SIGKILL: relay2 answering alone ${allOnRelay2Since - killedAt} ms after the kill, ${failed} of ${failed + answered} requests failed meanwhile (retried on relay2); relay1 marked DOWN by the check within ${downAt - killedAt} ms`)
  for (const room of rooms) {
    const now = await landsOn(room)
    assert.is(now, 'relay2', room)
  }
  // Consistent hashing: the rooms that were on relay2 never moved (also checked just above).
  assert.ok([...before.values()].includes('relay1') && [...before.values()].includes('relay2'), 'rooms spread before the kill')
})

test.run()
