// Clients for the cluster fault tests: stock y-websocket providers (lab principals writing their
// lab's history), each noting which relay haproxy put it on and the highest clock of its own
// writes the relay echoed, i.e. acknowledged as durable.
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'
import * as authProtocol from 'y-protocols/auth'
import type { HistoryEntry } from '../../shared/schema.ts'

export interface LoadClient {
  doc: Y.Doc
  provider: WebsocketProvider
  /** Sockets made so far: when, when open (0 until), the relay that answered (X-Labsync-Relay; '' when direct). */
  sockets: Array<{ madeAt: number; openAt: number; relay: string }>
  /** Writes the relay refused (permission-denied messages): a client racing its own sync step 2 after a reconnection. */
  refusals: string[]
  /** Called with every echo of this client's own writes: socket index, arrival time, clock. */
  onEcho: Array<(socket: number, at: number, clock: number) => void>
  /** Called when a socket closes: socket index and time. */
  onClose: Array<(socket: number, at: number) => void>
}

/** The highest clock of `clientId` an incoming sync update or step 2 covers (0 for other messages). */
export function echoedClock(message: Uint8Array, clientId: number): number {
  const decoder = decoding.createDecoder(message)
  if (decoding.readVarUint(decoder) !== 0) return 0
  if (decoding.readVarUint(decoder) === 0) return 0 // step 1 carries no content
  return Y.parseUpdateMeta(decoding.readVarUint8Array(decoder)).to.get(clientId) ?? 0
}

/**
 * A lab principal on `lab/<lab>` at `wsBase` (ws://relay or wss://balancer, trusting `ca`).
 * Reconnects as stock providers do (100 ms after a drop, backing off to 2.5 s).
 */
export function labClient(wsBase: string, lab: string, key: string, ca?: string): LoadClient {
  const client: LoadClient = { doc: new Y.Doc(), provider: null as unknown as WebsocketProvider, sockets: [], refusals: [], onEcho: [], onClose: [] }
  class TrackedSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, ca ? { ca } : {})
      const index = client.sockets.length
      client.sockets.push({ madeAt: Date.now(), openAt: 0, relay: '' })
      this.on('open', () => { client.sockets[index].openAt = Date.now() })
      this.on('upgrade', (res) => { client.sockets[index].relay = String(res.headers['x-labsync-relay'] ?? '') })
      this.on('message', (data: Buffer) => {
        const clock = echoedClock(new Uint8Array(data), client.doc.clientID)
        if (clock > 0) for (const callback of client.onEcho) callback(index, Date.now(), clock)
      })
      this.on('close', () => { for (const callback of client.onClose) callback(index, Date.now()) })
    }
  }
  client.provider = new WebsocketProvider(`${wsBase}/sync`, `lab/${lab}`, client.doc, {
    params: { token: key }, WebSocketPolyfill: TrackedSocket as unknown as typeof globalThis.WebSocket, disableBc: true,
  })
  // Kept rather than logged (stock providers console.warn them): see `refusals`.
  const handlers = (client.provider as unknown as { messageHandlers: Array<(...args: unknown[]) => void> }).messageHandlers
  handlers[2] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder as decoding.Decoder, client.doc, (_doc, reason) => client.refusals.push(reason))
  }
  // A provider does not destroy the Awareness it made, whose interval would keep a test process alive.
  const destroy = client.provider.destroy.bind(client.provider)
  client.provider.destroy = () => { destroy(); client.provider.awareness.destroy() }
  return client
}

/** The highest clock of the client's own writes echoed so far. */
export function echoes(client: LoadClient): { clock: () => number } {
  let clock = 0
  client.onEcho.push((_socket, _at, echoed) => { clock = Math.max(clock, echoed) })
  return { clock: () => clock }
}

let entries = 0
/** A well-formed history entry (the relay stores it and removes it from the document). */
export function historyEntry(tag: string): HistoryEntry {
  return { id: `${tag}-${process.pid}-${++entries}`, order: `load-${tag}`, item: 0, printer: 'load', job: entries, copies: 1, status: 'completed', printedAt: new Date().toISOString() }
}

/** The clock of the client's own writes made so far. */
export function written(client: LoadClient): number {
  return Y.getState(client.doc.store, client.doc.clientID)
}

/** Resolves when `check` (which may be async) gives a truthy value; rejects after `timeoutMs`. */
export async function poll<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5_000, everyMs = 20): Promise<NonNullable<T>> {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
