// --trust-proxy on real relay processes: from a trusted peer the client's address is
// X-Forwarded-For's right-most untrusted hop, for the sign-in and price-list limits and the
// aborted-request log; from any other peer the header changes nothing (a forged header cannot
// buy a client a fresh allowance). Then the hop walk itself, on every shape of header.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { connect as tcpConnect } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { clientAddressOf, parseTrustedProxies } from '../../relay/http/client-address.ts'
import { LABSYNC, removeDir, startRelay, tempDir, waitFor, type RelayProcess } from '../helpers/relay.ts'

const relays: RelayProcess[] = []
const toRemove: string[] = []
test.after(async () => {
  toRemove.forEach(removeDir)
  for (const relay of relays) {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

/** A relay allowing 2 sign-ins (and 2 price-list reads) per address a minute, trusting `trust`. */
async function relayTrusting(trust: string | null): Promise<RelayProcess> {
  const limits = { ...DEMO_CONFIG.limits, signInsPerAddress: 2 }
  const relay = await startRelay({ config: { ...DEMO_CONFIG, limits }, env: trust ? { LABSYNC_TRUST_PROXY: trust } : {} })
  relays.push(relay)
  return relay
}

async function signInFrom(relay: RelayProcess, forwardedFor: string | null): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (forwardedFor !== null) headers['x-forwarded-for'] = forwardedFor
  const res = await fetch(`${relay.url}/api/sessions`, { method: 'POST', headers, body: JSON.stringify({ email: 'nobody@example.test', password: 'wrong password' }) })
  await res.arrayBuffer()
  return res.status
}

test('from a trusted peer, sign-ins count against the forwarded client: another client keeps its allowance, a forged left hop changes nothing', async () => {
  const relay = await relayTrusting('127.0.0.1/32,::1/128')
  assert.is(await signInFrom(relay, '203.0.113.1'), 401)
  // The client wrote a hop of its own in front; the proxy appended the address it saw.
  assert.is(await signInFrom(relay, '198.51.100.7, 203.0.113.1'), 401)
  assert.is(await signInFrom(relay, '198.51.100.8, 203.0.113.1'), 429, 'the third from 203.0.113.1, whatever it claims further left')
  assert.is(await signInFrom(relay, '203.0.113.2'), 401, 'another client behind the same proxy')
  // A chain of trusted proxies: the walk passes them to the first untrusted hop.
  assert.is(await signInFrom(relay, '203.0.113.3, 127.0.0.1'), 401)
  assert.is(await signInFrom(relay, '203.0.113.3, 127.0.0.1'), 401)
  assert.is(await signInFrom(relay, '203.0.113.3'), 429)
  // The price list's own window follows the same address.
  const prices = async (forwardedFor: string) => (await fetch(`${relay.url}/api/prices`, { headers: { 'x-forwarded-for': forwardedFor } })).status
  assert.is(await prices('203.0.113.9'), 200)
  assert.is(await prices('203.0.113.9'), 200)
  assert.is(await prices('203.0.113.9'), 429)
  assert.is(await prices('203.0.113.10'), 200)
})

test('without --trust-proxy, or from a peer outside it, a forged X-Forwarded-For changes nothing', async () => {
  for (const trust of [null, '10.0.0.0/8']) {
    const relay = await relayTrusting(trust)
    assert.is(await signInFrom(relay, '203.0.113.1'), 401)
    assert.is(await signInFrom(relay, '203.0.113.2'), 401)
    assert.is(await signInFrom(relay, '203.0.113.3'), 429, `trusting ${trust}: the TCP peer's third sign-in`)
    assert.is(await signInFrom(relay, null), 429)
  }
})

test('an aborted request is logged with the forwarded client\'s address', async () => {
  const relay = await relayTrusting('127.0.0.1/32')
  const socket = tcpConnect(Number(new URL(relay.url).port), '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('POST /api/sessions HTTP/1.1\r\nHost: relay\r\nX-Forwarded-For: 203.0.113.77\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"em')
  await new Promise((resolve) => setTimeout(resolve, 200))
  socket.destroy()
  const line = await waitFor(() => relay.output().split('\n').find((l) => l.includes('POST /api/sessions from')), 'the aborted-request line')
  assert.match(line, /POST \/api\/sessions from 203\.0\.113\.77 ended before the end of its body/)
})

test('--trust-proxy that is not a list of addresses or ranges: one line naming it, exit 2', async () => {
  for (const [value, bad] of [['127.0.0.1/33', '127.0.0.1/33'], ['10.0.0.0/8,proxy.local', 'proxy.local'], ['10.0.0.0/', '10.0.0.0/'], ['::1/129', '::1/129']]) {
    const dataDir = tempDir()
    toRemove.push(dataDir)
    const child = spawn(process.execPath, [LABSYNC, 'relay', '--port', '0', '--data', dataDir, '--trust-proxy', value], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout!.on('data', (c) => (output += c))
    child.stderr!.on('data', (c) => (output += c))
    const code = await new Promise((resolve) => child.once('close', resolve))
    assert.is(code, 2, output)
    assert.is(output.trim(), `labsync: --trust-proxy: "${bad}" is not an address or CIDR range (e.g. 127.0.0.1/32, 10.0.0.0/8, ::1/128)`)
  }
})

/** A request as clientAddressOf sees it: a peer address and the header's values. */
const request = (peer: string, forwardedFor?: string | string[]) => ({ socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage

test('the hop walk: right-most untrusted hop; IPv6 and mapped IPv4; repeated headers; garbage stops at the proxy that passed it', () => {
  const of = clientAddressOf(parseTrustedProxies('127.0.0.1, 10.0.0.0/8, fd00::/8'))
  assert.is(of(request('127.0.0.1', '203.0.113.5')), '203.0.113.5')
  assert.is(of(request('::ffff:127.0.0.1', '203.0.113.5')), '203.0.113.5')
  assert.is(of(request('127.0.0.1', '1.1.1.1, 203.0.113.5, 10.1.2.3')), '203.0.113.5')
  assert.is(of(request('127.0.0.1', ['1.1.1.1', '2001:db8::1, fd00::2'])), '2001:db8::1')
  assert.is(of(request('127.0.0.1', '10.0.0.1, 10.0.0.2')), '10.0.0.1', 'all trusted: the left-most')
  assert.is(of(request('127.0.0.1', 'evil, 10.0.0.9')), '10.0.0.9', 'a hop that is no address')
  assert.is(of(request('127.0.0.1')), '127.0.0.1', 'no header: the peer')
  assert.is(of(request('192.0.2.1', '203.0.113.5')), '192.0.2.1', 'an untrusted peer\'s header is ignored')
  assert.is(clientAddressOf(null)(request('::ffff:192.0.2.1', '203.0.113.5')), '192.0.2.1')
})

test.run()
