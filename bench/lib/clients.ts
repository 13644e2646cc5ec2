// One sync client per room, the same Y.Doc operations for every system: stock y-websocket
// `WebsocketProvider` for labsync and @y/websocket-server, `HocuspocusProvider` for Hocuspocus
// (its protocol prefixes every message with the document name and needs an auth message).
// The socket is tapped so a write's echo (the server broadcasting it back to its writer) and the
// bytes on the wire can be measured without changing the provider.
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import type { SystemName } from './proc.ts'

export const HOCUSPOCUS_TOKEN = 'bench-token'

export interface Client {
  doc: Y.Doc
  /** Resolves once the first sync with the server is done; rejects when the server refuses or closes. */
  synced: Promise<void>
  /** Resolves once the server has echoed back every local write made so far. */
  echoed(timeoutMs?: number): Promise<void>
  /** Application bytes received / sent, and raw TCP bytes received (HTTP upgrade and frames included). */
  bytes(): { in: number; out: number; rawIn: number }
  /** Close code the server closed with, if it did. */
  closeCode(): number | null
  destroy(): void
}

// The document is named after its room: a Y.Doc without a guid draws a random UUID through
// webcrypto, 4% of a load worker's CPU that no server sees.
export function openClient(system: SystemName, wsUrl: string, room: string, token: string, doc = new Y.Doc({ guid: room })): Client {
  let echoedClock = 0
  let bytesIn = 0
  let bytesOut = 0
  let socket: WebSocket | null = null
  let rawClosed = 0
  let closeCode: number | null = null
  const waiters: Array<{ clock: number; resolve: () => void }> = []
  const prefixed = system === 'hocuspocus'

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[]) => {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : Array.isArray(data) ? new Uint8Array(Buffer.concat(data)) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    bytesIn += bytes.byteLength
    const clock = echoedClockIn(bytes, prefixed, doc.clientID)
    if (clock > echoedClock) {
      echoedClock = clock
      while (waiters.length > 0 && waiters[0].clock <= echoedClock) waiters.shift()!.resolve()
    }
  }

  // Each provider gets its own socket class, so its frames can be counted and read.
  class TappedSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      socket = this
      // A provider destroyed while its socket is still connecting makes ws emit 'error'; the
      // providers listen for close, not for that, and the error must not end the worker.
      this.on('error', () => {})
      this.on('message', onMessage)
      this.on('close', (code: number) => {
        closeCode = code
        rawClosed += (this as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0
      })
    }

    override send(data: any, ...rest: any[]): void {
      bytesOut += data?.byteLength ?? data?.length ?? 0
      ;(super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }

  let destroy: () => void
  let synced: Promise<void>
  if (system === 'hocuspocus') {
    // One socket per document, like the y-websocket clients (Hocuspocus could multiplex them).
    const websocket = new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: TappedSocket })
    const provider = new HocuspocusProvider({ websocketProvider: websocket, name: room, document: doc, token: HOCUSPOCUS_TOKEN })
    provider.attach()
    synced = new Promise<void>((resolve, reject) => {
      provider.on('synced', () => resolve())
      provider.on('authenticationFailed', ({ reason }: { reason: string }) => reject(new Error(`hocuspocus refused ${room}: ${reason}`)))
    })
    destroy = () => {
      provider.destroy()
      websocket.destroy()
    }
  } else {
    // Both serve y-websocket rooms under /sync/<room> (@y/websocket-server takes the whole path as the name).
    const provider = new WebsocketProvider(`${wsUrl}/sync`, room, doc, {
      params: system === 'labsync' ? { token } : {},
      WebSocketPolyfill: TappedSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    })
    synced = new Promise<void>((resolve, reject) => {
      provider.on('sync', (isSynced: boolean) => { if (isSynced) resolve() })
      provider.on('connection-close', (event: { code: number; reason: string } | null) => {
        if (event && event.code >= 4000) {
          provider.shouldConnect = false
          reject(new Error(`${system} closed ${room}: ${event.code} ${event.reason}`))
        }
      })
    })
    destroy = () => {
      provider.destroy()
      provider.awareness.destroy() // a provider does not end the Awareness it made
    }
  }
  synced.catch(() => {}) // callers that never await it must not crash the process

  return {
    doc,
    synced,
    echoed(timeoutMs = 30_000) {
      const clock = Y.getState(doc.store, doc.clientID)
      if (echoedClock >= clock) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const at = waiters.findIndex((w) => w.resolve === done)
          if (at >= 0) waiters.splice(at, 1)
          reject(new Error(`no echo within ${timeoutMs} ms in ${room}`))
        }, timeoutMs)
        const done = () => { clearTimeout(timer); resolve() }
        waiters.push({ clock, resolve: done })
      })
    },
    bytes: () => ({
      in: bytesIn, out: bytesOut,
      rawIn: rawClosed + ((socket as unknown as { _socket?: { bytesRead: number } } | null)?._socket?.bytesRead ?? 0),
    }),
    closeCode: () => closeCode,
    destroy,
  }
}

/**
 * The highest clock of `clientId` that a sync message (step 2 or update) covers; 0 for any other
 * message. Hocuspocus messages start with the document name.
 */
export function echoedClockIn(message: Uint8Array, prefixed: boolean, clientId: number): number {
  try {
    const decoder = decoding.createDecoder(message)
    if (prefixed) decoding.readVarString(decoder)
    if (decoding.readVarUint(decoder) !== 0) return 0 // not a sync message
    const step = decoding.readVarUint(decoder)
    if (step !== 1 && step !== 2) return 0 // only step 2 and updates carry content
    const update = decoding.readVarUint8Array(decoder)
    return Y.parseUpdateMeta(update).to.get(clientId) ?? 0
  } catch {
    return 0
  }
}
