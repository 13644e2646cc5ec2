// The lab node's side of the relay: its `lab/<id>` document (queue in, history out), the
// catalog, order documents opened only when an order is about to print, and photos cached by hash.
// Every document goes over one multiplexed socket to the relay (sync-server/mux-uplink.ts), each
// synced by a RelayRoom; two users of the same order (the print loop and the console) share one.
import * as Y from 'yjs'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Catalog, HistoryEntry, QueueEntry } from '../shared/schema.ts'
import { roomName } from '../shared/schema.ts'
import { isFinalClose } from '../shared/errors.ts'
import { MuxUplink } from '../sync-server/mux-uplink.ts'
import { MUX_PATH } from '../sync-server/endpoint.ts'
import { RelayRoom } from './relay-room.ts'

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

/** An order's document held open, and by how many OpenOrders. */
interface HeldOrder {
  room: RelayRoom
  users: number
}

/** Refusals kept per OpenOrder, at most this many. */
const MAX_REFUSALS_KEPT = 100

export class RelayLink {
  readonly labDoc = new Y.Doc()
  readonly catalogDoc = new Y.Doc()
  private readonly uplink: MuxUplink
  private readonly labRoom: RelayRoom
  private readonly catalogRoom: RelayRoom
  private readonly orders = new Map<string, HeldOrder>()
  /** Where photos customers uploaded over the store's LAN are (in-store server), checked like any other. */
  lanPhotoPath: ((sha256: string) => string) | null = null

  constructor(
    readonly relayUrl: string,
    readonly labId: string,
    private readonly key: string,
    private readonly photoDir: string,
  ) {
    this.uplink = new MuxUplink({ url: relayUrl.replace(/^http/, 'ws').replace(/\/$/, '') + MUX_PATH, token: () => key, maxBackoffMs: 5_000 })
    this.labRoom = this.room(roomName.lab(labId), this.labDoc)
    this.catalogRoom = this.room('catalog', this.catalogDoc)
  }

  get queue(): Y.Map<QueueEntry> {
    return this.labDoc.getMap<QueueEntry>('queue')
  }

  get history(): Y.Array<HistoryEntry> {
    return this.labDoc.getArray<HistoryEntry>('history')
  }

  get connected(): boolean {
    return this.labRoom.joined
  }

  /** Sockets this link holds at the relay now: one, however many documents it syncs (up to the relay's rooms per socket). */
  get socketCount(): number {
    return this.uplink.socketCount
  }

  /** Calls `listener` each time the lab document's room is joined or drops, until the returned function is called. */
  onConnectionChange(listener: (connected: boolean) => void): () => void {
    return this.labRoom.on('status', listener)
  }

  /**
   * Calls `listener` each time the lab document or the catalog has synced with the relay (at
   * start and after every reconnection): the two arrive in either order, and work that waited for
   * the catalog must be woken by it.
   */
  onSynced(listener: () => void): void {
    for (const room of [this.labRoom, this.catalogRoom]) room.on('sync', (isSynced) => { if (isSynced) listener() })
  }

  catalog(): Catalog | null {
    const map = this.catalogDoc.getMap('catalog')
    return map.size === 0 ? null : (map.toJSON() as Catalog)
  }

  /** Resolves once the lab document and the catalog have synced with the relay. */
  ready(timeoutMs = 30_000): Promise<void> {
    return Promise.all([synced(this.labRoom, timeoutMs), synced(this.catalogRoom, timeoutMs)]).then(() => undefined)
  }

  /** Opens one order's document: this is the lab "asking" for it; the relay checks it is assigned here. */
  async openOrder(orderId: string, timeoutMs = 30_000): Promise<OpenOrder> {
    const name = roomName.order(orderId)
    let held = this.orders.get(name)
    // A room the relay closed for good (not assigned here yet, say) is not reused: asking again asks afresh.
    if (!held || held.room.closedWith) {
      held = { room: this.room(name, new Y.Doc()), users: 0 }
      this.orders.set(name, held)
    }
    held.users++
    const { room } = held
    const refusals: string[] = []
    const stopKeeping = room.on('refused', (reason) => { if (refusals.length < MAX_REFUSALS_KEPT) refusals.push(reason) })
    let open = true
    const close = () => {
      if (!open) return
      open = false
      stopKeeping()
      this.release(name, held)
    }
    try {
      await synced(room, timeoutMs)
    } catch (error) {
      close()
      throw error
    }
    return { doc: room.doc, close, acknowledged: (ms = 10_000) => acknowledged(room, ms).then(() => [...refusals]) }
  }

  /** One user of an order's document is done with it; the last one leaves the room and ends the copy. */
  private release(name: string, held: HeldOrder): void {
    if (--held.users > 0) return
    if (this.orders.get(name) === held) this.orders.delete(name)
    held.room.stop()
    held.room.doc.destroy()
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
    // No answer, or a balancer with no relay to give it to (a relay just killed, 502/504), or a
    // relay that cannot serve (503): the relay is unavailable, so the order waits for it rather than failing.
    const res = await fetch(`${this.relayUrl}/api/images/${sha256}`, { headers: { authorization: `Bearer ${this.key}` } })
      .catch((error: Error) => { throw new RelayUnavailableError(`photo ${sha256.slice(0, 12)}…: ${error.message}`, { cause: error }) })
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      await res.arrayBuffer().catch(() => null)
      throw new RelayUnavailableError(`photo ${sha256.slice(0, 12)}…: the relay did not serve it (HTTP ${res.status})`)
    }
    if (!res.ok) throw new Error(`photo ${sha256.slice(0, 12)}… not available from the relay (HTTP ${res.status})`)
    const bytes = Buffer.from(await res.arrayBuffer())
    if (hash(bytes) !== sha256) throw new Error(`photo ${sha256.slice(0, 12)}… arrived with the wrong hash`)
    await mkdir(this.photoDir, { recursive: true })
    await writeFile(`${path}.tmp`, bytes)
    await rename(`${path}.tmp`, path)
    return bytes
  }

  close(): void {
    for (const held of this.orders.values()) { held.room.stop(); held.room.doc.destroy() }
    this.orders.clear()
    this.labRoom.stop()
    this.catalogRoom.stop()
    this.uplink.close()
  }

  private room(name: string, doc: Y.Doc): RelayRoom {
    const room = new RelayRoom(name, doc, this.uplink)
    room.start()
    return room
  }
}

/**
 * Waits until the relay has stored this copy's changes. The relay answers a sync step 1 only
 * once everything it received before is durable, with everything it has that we lack; so a step 1
 * sent on a join that already carried our changes is a probe whose answer acknowledges them.
 * Our changes are on the join once it has synced: a change is sent live while joined, and on a
 * new join answers the relay's step 1 (which comes before the relay's step 2) with whatever the
 * relay lacks. A join that ends before the answer means probing again on the next one.
 */
async function acknowledged(room: RelayRoom, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) throw new RelayUnavailableError(`the relay did not acknowledge ${room.name} within ${timeoutMs / 1000} s`)
    await synced(room, left)
    if (await withDeadline(room.probe(), deadline - Date.now(), () => new RelayUnavailableError(`the relay did not acknowledge ${room.name} within the time allowed`))) return
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(error()), Math.max(0, ms))
    promise.then((value) => { clearTimeout(timer); resolve(value) }, (e) => { clearTimeout(timer); reject(e) })
  })
}

const hash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

function synced(room: RelayRoom, timeoutMs: number): Promise<void> {
  if (room.synced) return Promise.resolve()
  const refused = (event: { code: number; reason: string }) => {
    const message = `the relay refused ${room.name}: ${event.reason} (${event.code})`
    return isFinalClose(event.code) ? new RelayRefusedError(message, event.code) : new RelayUnavailableError(message)
  }
  if (room.closedWith) return Promise.reject(refused(room.closedWith))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done()
      reject(new RelayUnavailableError(`no answer from the relay for ${room.name} within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    const offSync = room.on('sync', (isSynced) => { if (isSynced) { done(); resolve() } })
    const offClosed = room.on('closed', (event) => { done(); reject(refused(event)) })
    const done = () => { clearTimeout(timer); offSync(); offClosed() }
  })
}
