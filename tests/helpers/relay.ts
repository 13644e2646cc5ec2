// Starts a real relay process (`bin/labsync relay`) on 127.0.0.1 with its own data dir, for
// integration tests; and small clients for its HTTP API and sync endpoint.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as authProtocol from 'y-protocols/auth'
import type * as decoding from 'lib0/decoding'

const ROOT = join(import.meta.dirname, '..', '..')
export const LABSYNC = join(ROOT, 'bin', 'labsync')

export interface RelayProcess {
  url: string
  wsUrl: string
  dataDir: string
  process: ChildProcess
  output: () => string
  /** SIGKILL: no clean shutdown, nothing flushed that was not already durable. */
  kill(): Promise<void>
  stop(): Promise<void>
  /** Starts again on the same port and data dir. */
  restart(): Promise<RelayProcess>
}

export function tempDir(prefix = 'labsync-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export async function startRelay(options: { config?: object; dataDir?: string; port?: number; env?: Record<string, string> } = {}): Promise<RelayProcess> {
  const dataDir = options.dataDir ?? tempDir()
  const args = [LABSYNC, 'relay', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--data', dataDir]
  if (options.config) {
    const file = join(dataDir, 'config.json')
    writeFileSync(file, JSON.stringify(options.config))
    args.push('--config', file)
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const url = await new Promise<string>((resolve, reject) => {
    // Ends at the line; the long limit is for a loaded machine. A relay that never listens is
    // killed, or it would keep the test file alive.
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`relay did not start in 60 s:\n${output}`)) }, 60_000)
    const check = () => {
      const match = /relay listening on (http:\/\/\S+)/.exec(output)
      if (match) { clearTimeout(timer); resolve(match[1]) }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited ${code} before listening:\n${output}`)) })
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = Number(new URL(url).port)
  const relay: RelayProcess = {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    dataDir,
    process: child,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
    restart: () => startRelay({ ...options, dataDir, port }),
  }
  return relay
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

let accountCounter = 0
export async function signUp(relayUrl: string, name = 'Customer'): Promise<{ userId: string; token: string; email: string }> {
  const email = `customer${process.pid}-${++accountCounter}-${Date.now()}@example.test`
  const res = await fetch(`${relayUrl}/api/accounts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery', name }),
  })
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`)
  return { ...(await res.json()) as { userId: string; token: string }, email }
}

/** A stock y-websocket client in Node, as SPEC.md says any client may be. */
export function connect(relay: { wsUrl: string }, room: string, token: string, doc = new Y.Doc()): { doc: Y.Doc; provider: WebsocketProvider } {
  const provider = new WebsocketProvider(`${relay.wsUrl}/sync`, room, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  // A provider does not destroy the Awareness it made, whose interval would keep a test process alive.
  const destroy = provider.destroy.bind(provider)
  provider.destroy = () => { destroy(); provider.awareness.destroy() }
  return { doc, provider }
}

// 15 s by default: what it waits for takes well under a second here, but a relay process on a loaded
// 2-core machine (two test files at once, each with its own processes) was seen to need over 5 s.
export function waitFor<T>(check: () => T | null | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = () => {
      let value: T | null | undefined | false
      try { value = check() } catch (error) { return reject(error) }
      if (value) return resolve(value)
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      setTimeout(poll, 10)
    }
    poll()
  })
}

export function synced(provider: WebsocketProvider, timeoutMs = 5_000): Promise<void> {
  return waitFor(() => provider.synced, 'sync', timeoutMs).then(() => undefined)
}

/** Resolves with the close code the relay sends this provider (stock providers stop on 44xx). */
export function closed(provider: WebsocketProvider, timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('provider was not closed')), timeoutMs)
    provider.on('connection-close', (event: { code: number; reason: string } | null) => {
      if (event) { clearTimeout(timer); resolve({ code: event.code, reason: event.reason }) }
    })
  })
}

/** Permission-denied messages the relay sent this provider (stock providers only console.warn them). */
export function permissionDenials(provider: WebsocketProvider): string[] {
  const denials: string[] = []
  const handlers = (provider as unknown as { messageHandlers: Array<(...args: unknown[]) => void> }).messageHandlers
  handlers[2] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder as decoding.Decoder, provider.doc, (_doc, reason) => denials.push(reason))
  }
  return denials
}

/** A small real JPEG, different for every `seed`. */
export async function makePhoto(seed: number, width = 640, height = 480): Promise<Buffer> {
  const sharp = (await import('sharp')).default
  return sharp({ create: { width, height, channels: 3, background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 53) % 256 } } })
    .jpeg({ quality: 80 }).toBuffer()
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Uploads a photo whole (PUT /api/images/<sha256>) and returns its hash. */
export async function uploadPhoto(relayUrl: string, token: string, bytes: Buffer): Promise<string> {
  const res = await putPhoto(relayUrl, token, bytes)
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
  return sha256Hex(bytes)
}

/** PUT /api/images/<sha256> of `bytes` as a JPEG: the answer, whatever its status. */
export function putPhoto(relayUrl: string, token: string, bytes: Buffer): Promise<Response> {
  return fetch(`${relayUrl}/api/images/${sha256Hex(bytes)}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' }, body: new Uint8Array(bytes) })
}

/** GET /api/images/<sha256>: its status and body. */
export async function getPhoto(relayUrl: string, sha256: string, token: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${relayUrl}/api/images/${sha256}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

let orderCounter = 0
export const newOrderId = (): string => `o${process.pid}x${Date.now().toString(36)}x${++orderCounter}`

/** Signs in again (sessions expire after 30 days of the relay's clock). */
export async function signIn(relayUrl: string, email: string): Promise<{ userId: string; token: string }> {
  const res = await fetch(`${relayUrl}/api/sessions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  })
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`)
  return await res.json() as { userId: string; token: string }
}
