// The lab node's side of the relay: its `lab/<id>` document (queue in, history out), the
// catalog, order documents opened only when an order is about to print, and photos cached by hash.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Catalog, HistoryEntry, QueueEntry } from '../shared/schema.ts'
import { roomName } from '../shared/schema.ts'
import { isFinalClose } from '../shared/errors.ts'
import { MESSAGE_AUTH, MESSAGE_SYNC, step1Message } from '../shared/sync-protocol.ts'

export interface OpenOrder {
  doc: Y.Doc
  /**
   * Resolves once the relay has stored every change made to `doc` before the call, and this copy
   * holds everything the relay had applied by then (a customer's cancel, say). Resolves with the
   * relay's refusals seen since the order was opened (empty when none). Rejects after `timeoutMs`.
   */
  acknowledged(timeoutMs?: number): Promise<string[]>
  close(): void
}

/** The relay closed the room for good (a final close, 44xx): not this lab's, or no longer. */
export class RelayRefusedError extends Error {
  override name = 'RelayRefusedError'
  constructor(message: string, readonly code: number) {
    super(message)
  }
}

/** The relay could not be reached or did not answer in time: nothing is known to be wrong with the request. */
export class RelayUnavailableError extends Error {
  override name = 'RelayUnavailableError'
}

export class RelayLink {
  readonly labDoc = new Y.Doc()
  readonly catalogDoc = new Y.Doc()
  private readonly labProvider: WebsocketProvider
  private readonly catalogProvider: WebsocketProvider
  private readonly wsBase: string
  /** Where photos customers uploaded over the store's LAN are (in-store server), checked like any other. */
  lanPhotoPath: ((sha256: string) => string) | null = null

  constructor(
    readonly relayUrl: string,
    readonly labId: string,
    private readonly key: string,
    private readonly photoDir: string,
  ) {
    this.wsBase = relayUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/sync'
    this.labProvider = this.provider(roomName.lab(labId), this.labDoc)
    this.catalogProvider = this.provider('catalog', this.catalogDoc)
  }

  get queue(): Y.Map<QueueEntry> {
    return this.labDoc.getMap<QueueEntry>('queue')
  }

  get history(): Y.Array<HistoryEntry> {
    return this.labDoc.getArray<HistoryEntry>('history')
  }

  get connected(): boolean {
    return this.labProvider.wsconnected
  }

  /** Calls `listener` each time the lab document's socket connects or drops, until the returned function is called. */
  onConnectionChange(listener: (connected: boolean) => void): () => void {
    const onStatus = ({ status }: { status: string }) => { if (status !== 'connecting') listener(status === 'connected') }
    this.labProvider.on('status', onStatus)
    return () => this.labProvider.off('status', onStatus)
  }

  /**
   * Calls `listener` each time the lab document or the catalog has synced with the relay (at
   * start and after every reconnection): the two arrive in either order, and work that waited for
   * the catalog must be woken by it.
   */
  onSynced(listener: () => void): void {
    for (const provider of [this.labProvider, this.catalogProvider]) provider.on('sync', (isSynced: boolean) => { if (isSynced) listener() })
  }

  catalog(): Catalog | null {
    const map = this.catalogDoc.getMap('catalog')
    return map.size === 0 ? null : (map.toJSON() as Catalog)
  }

  /** Resolves once the lab document and the catalog have synced with the relay. */
  ready(timeoutMs = 30_000): Promise<void> {
    return Promise.all([synced(this.labProvider, timeoutMs), synced(this.catalogProvider, timeoutMs)]).then(() => undefined)
  }

  /** Opens one order's document: this is the lab "asking" for it; the relay checks it is assigned here. */
  async openOrder(orderId: string, timeoutMs = 30_000): Promise<OpenOrder> {
    const doc = new Y.Doc()
    const provider = this.provider(roomName.order(orderId), doc)
    const refusals = keepRefusals(provider)
    const close = () => { provider.destroy(); doc.destroy() } // destroying the doc ends its Awareness
    try {
      await synced(provider, timeoutMs)
    } catch (error) {
      close()
      throw error
    }
    return { doc, close, acknowledged: (ms = 10_000) => acknowledged(provider, ms).then(() => [...refusals]) }
  }

  /** Photos being fetched now: two items (on two printers) or a thumbnail asking for the same one share the fetch and its cache file. */
  private readonly fetching = new Map<string, Promise<Buffer>>()

  /** The photo's bytes, from the local cache, the in-store uploads or the relay; checked against its hash every time. */
  photo(sha256: string): Promise<Buffer> {
    const running = this.fetching.get(sha256)
    if (running) return running
    const fetching = this.fetchPhoto(sha256).finally(() => this.fetching.delete(sha256))
    this.fetching.set(sha256, fetching)
    return fetching
  }

  private async fetchPhoto(sha256: string): Promise<Buffer> {
    const path = join(this.photoDir, sha256)
    for (const local of [path, this.lanPhotoPath?.(sha256)]) {
      const cached = local ? await readFile(local).catch(() => null) : null
      if (cached && hash(cached) === sha256) return cached
    }
    const res = await fetch(`${this.relayUrl}/api/images/${sha256}`, { headers: { authorization: `Bearer ${this.key}` } })
    if (!res.ok) throw new Error(`photo ${sha256.slice(0, 12)}… not available from the relay (HTTP ${res.status})`)
    const bytes = Buffer.from(await res.arrayBuffer())
    if (hash(bytes) !== sha256) throw new Error(`photo ${sha256.slice(0, 12)}… arrived with the wrong hash`)
    await mkdir(this.photoDir, { recursive: true })
    await writeFile(`${path}.tmp`, bytes)
    await rename(`${path}.tmp`, path)
    return bytes
  }

  close(): void {
    for (const provider of [this.labProvider, this.catalogProvider]) {
      provider.destroy()
      provider.awareness.destroy()
    }
  }

  private provider(room: string, doc: Y.Doc): WebsocketProvider {
    return new WebsocketProvider(this.wsBase, room, doc, {
      params: { token: this.key },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      maxBackoffTime: 5_000,
      // Said here rather than left to y-websocket's default: a final close ends the room for good.
      shouldReconnect: (event) => !isFinalClose(event.code),
    })
  }
}

/** The relay's permission-denied messages on this provider, kept (stock y-websocket only logs them). */
function keepRefusals(provider: WebsocketProvider): string[] {
  const refusals: string[] = []
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, provider.doc, (_doc, reason) => { if (refusals.length < 100) refusals.push(reason) })
  }
  return refusals
}

/**
 * Waits until the relay has stored this copy's changes. The relay answers a sync step 1 only
 * once everything it received before is durable, with everything it has that we lack; so a step 1
 * sent on a socket that already carried our changes is a probe whose answer acknowledges them.
 * Our changes are on the socket once it has synced: y-websocket sends a change live on an open
 * socket, and on a new one answers the relay's step 1 (which comes before the relay's step 2)
 * with whatever the relay lacks. A socket that closes before the answer means probing again on
 * the next one.
 */
async function acknowledged(provider: WebsocketProvider, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) throw new RelayUnavailableError(`the relay did not acknowledge ${provider.roomname} within ${timeoutMs / 1000} s`)
    await synced(provider, left)
    if (await probe(provider, deadline - Date.now())) return
  }
}

/** Sends a step 1 on the current socket; true when its answer came, false when the socket closed first. */
function probe(provider: WebsocketProvider, timeoutMs: number): Promise<boolean> {
  const ws = provider.ws as unknown as WebSocket | null
  if (!ws || !provider.wsconnected || ws.readyState !== WebSocket.OPEN) return Promise.resolve(false)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new RelayUnavailableError(`the relay did not acknowledge ${provider.roomname} within the time allowed`)) }, Math.max(0, timeoutMs))
    const onMessage = (data: WebSocket.RawData) => {
      const bytes = new Uint8Array(data as ArrayBuffer)
      const decoder = decoding.createDecoder(bytes)
      if (decoding.readVarUint(decoder) !== MESSAGE_SYNC || decoding.readVarUint(decoder) !== syncProtocol.messageYjsSyncStep2) return
      // The provider's own listener came first and has applied the answer.
      done()
      resolve(true)
    }
    const onClose = () => { done(); resolve(false) }
    const done = () => { clearTimeout(timer); ws.off('message', onMessage); ws.off('close', onClose) }
    ws.on('message', onMessage)
    ws.on('close', onClose)
    ws.send(step1Message(provider.doc))
  })
}

const hash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

function synced(provider: WebsocketProvider, timeoutMs: number): Promise<void> {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off('sync', onSync)
      provider.off('closed', onClosed)
      reject(new RelayUnavailableError(`no answer from the relay for ${provider.roomname} within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    const onSync = (isSynced: boolean) => {
      if (!isSynced) return
      clearTimeout(timer)
      provider.off('closed', onClosed)
      resolve()
    }
    const onClosed = (event: { code: number; reason: string }) => {
      clearTimeout(timer)
      provider.off('sync', onSync)
      // `closed` comes only after a final close (shouldReconnect above); checked again all the same.
      const message = `the relay refused ${provider.roomname}: ${event.reason} (${event.code})`
      reject(isFinalClose(event.code) ? new RelayRefusedError(message, event.code) : new RelayUnavailableError(message))
    }
    provider.on('sync', onSync)
    provider.on('closed', onClosed)
  })
}
