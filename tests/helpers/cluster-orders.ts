// Customers of the cluster order fault test, reaching the relays only through the balancer: https
// requests (sign-up, photo upload) trusting its self-signed certificate, and order devices (stock
// y-websocket providers over wss) noting which relay answered and which of their writes it echoed.
import { request } from 'node:https'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import type { Haproxy } from './haproxy.ts'
import { echoedClock, type LoadClient } from './cluster-load.ts'
import { sha256Hex } from './relay.ts'

interface Answer { status: number; body: string }

/** How often a request the balancer could not serve (a relay just killed) is tried. */
const ATTEMPTS = 5

/** One https request through the balancer; tried again (after 200 ms) on a network error or a 502/503. */
export async function viaBalancer(proxy: Haproxy, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const answer = await once(proxy, path, options).catch((error: Error) => error)
    const retry = answer instanceof Error || answer.status === 502 || answer.status === 503
    if (!retry) return answer
    if (attempt === ATTEMPTS) throw answer instanceof Error ? answer : new Error(`${path}: ${answer.status} ${answer.body}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function once(proxy: Haproxy, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}${path}`, { method: options.method ?? 'GET', headers: options.headers, ca: proxy.ca, agent: false, timeout: 10_000 }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 10 s`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

let accounts = 0
/** A new account, signed up through the balancer. */
export async function signUpVia(proxy: Haproxy): Promise<{ userId: string; token: string }> {
  const email = `cluster-customer${process.pid}-${++accounts}-${Date.now()}@example.test`
  const answer = await viaBalancer(proxy, '/api/accounts', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'correct horse battery', name: 'Customer' }),
  })
  if (answer.status !== 201) throw new Error(`sign-up failed: ${answer.status} ${answer.body}`)
  return JSON.parse(answer.body) as { userId: string; token: string }
}

/** Uploads a photo whole through the balancer; its hash. */
export async function uploadVia(proxy: Haproxy, token: string, bytes: Buffer): Promise<string> {
  const sha = sha256Hex(bytes)
  const answer = await viaBalancer(proxy, `/api/images/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' }, body: bytes })
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`upload failed: ${answer.status} ${answer.body}`)
  return sha
}

/**
 * A customer's device on `room` (order/<id>, user/<id>) through the balancer (wss, trusting `proxy.ca`): a stock
 * provider that reconnects as stock providers do, with its sockets, echoes and closes tracked as
 * the lab clients of cluster-load.ts are.
 */
export function roomDevice(proxy: Haproxy, room: string, token: string): LoadClient {
  const device: LoadClient = { doc: new Y.Doc(), provider: null as unknown as WebsocketProvider, sockets: [], refusals: [], onEcho: [], onClose: [] }
  class TrackedSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { ca: proxy.ca })
      const index = device.sockets.length
      device.sockets.push({ madeAt: Date.now(), openAt: 0, relay: '' })
      this.on('open', () => { device.sockets[index].openAt = Date.now() })
      this.on('upgrade', (res) => { device.sockets[index].relay = String(res.headers['x-labsync-relay'] ?? '') })
      this.on('message', (data: Buffer) => {
        const clock = echoedClock(new Uint8Array(data), device.doc.clientID)
        if (clock > 0) for (const callback of device.onEcho) callback(index, Date.now(), clock)
      })
      this.on('close', () => { for (const callback of device.onClose) callback(index, Date.now()) })
    }
  }
  device.provider = new WebsocketProvider(`${proxy.url.replace(/^https/, 'wss')}/sync`, room, device.doc, {
    params: { token }, WebSocketPolyfill: TrackedSocket as unknown as typeof globalThis.WebSocket, disableBc: true,
  })
  // A provider does not destroy the Awareness it made, whose interval would keep a test process alive.
  const destroy = device.provider.destroy.bind(device.provider)
  device.provider.destroy = () => { destroy(); device.provider.awareness.destroy() }
  return device
}

/** What must agree between a device and PostgreSQL: the state vector and the maps (an order's, or a user's profile). */
export function docView(doc: Y.Doc): string {
  const maps = Object.fromEntries(['spec', 'receipt', 'progress', 'profile'].map((name) => [name, doc.getMap(name).toJSON()]))
  return JSON.stringify([[...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(), maps])
}
