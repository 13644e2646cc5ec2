// The lab node's side of the relay: its `lab/<id>` document (queue in, history out), the
// catalog, order documents opened only when an order is about to print, and photos cached by hash.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Catalog, HistoryEntry, QueueEntry } from '../shared/schema.ts'
import { roomName } from '../shared/schema.ts'

export interface OpenOrder {
  doc: Y.Doc
  close(): void
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
    const close = () => { provider.destroy(); doc.destroy() } // destroying the doc ends its Awareness
    try {
      await synced(provider, timeoutMs)
    } catch (error) {
      close()
      throw error
    }
    return { doc, close }
  }

  /** The photo's bytes, from the local cache, the in-store uploads or the relay; checked against its hash every time. */
  async photo(sha256: string): Promise<Buffer> {
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
    })
  }
}

const hash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

function synced(provider: WebsocketProvider, timeoutMs: number): Promise<void> {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off('sync', onSync)
      provider.off('closed', onClosed)
      reject(new Error(`no answer from the relay for ${provider.roomname} within ${timeoutMs / 1000} s`))
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
      reject(new Error(`the relay refused ${provider.roomname}: ${event.reason} (${event.code})`))
    }
    provider.on('sync', onSync)
    provider.on('closed', onClosed)
  })
}
