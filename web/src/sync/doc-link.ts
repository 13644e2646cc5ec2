// One Yjs document on this device: kept in IndexedDB (y-indexeddb) and synced with the relay and,
// when the customer has a home store with a lab node on the shop's LAN, with that lab node too:
// two providers on the same Y.Doc, which Yjs merges (each passes on what the other brought in).
import type * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import { IndexeddbPersistence } from 'y-indexeddb'
import { LOCAL_PREFIX } from '../session/device.ts'
import { roomName } from '../../../shared/schema.ts'
import { Peer, type LinkStatus } from './peer.ts'

export type { LinkStatus }

export interface LinkEvents {
  change: () => void
  /** The relay closed with a permanent code (44xx); its provider stopped. */
  closed: (event: { code: number; reason: string }) => void
  /** The relay refused a write to this document, in its words ("write refused: …"). */
  refused: (reason: string) => void
}

/** The IndexedDB database a room is kept in on this device. */
export const localName = (room: string): string => `${LOCAL_PREFIX}:${room}`

const RELAY_MARK = `${LOCAL_PREFIX}.relay-has:`
const STORE_MARK = `${LOCAL_PREFIX}.store-has:`

export class DocLink extends ObservableV2<LinkEvents> {
  readonly persistence: IndexeddbPersistence
  readonly relay: Peer
  /** The home store's lab node, while one is configured. */
  store: Peer | null = null
  /** Resolves once the copy in IndexedDB is loaded into the document. */
  readonly loaded: Promise<void>
  /** Whether the document should be syncing (between connect and disconnect). */
  private active = false
  /** Whether the link is gone (destroyed, forgotten, or cleared for a fresh copy). */
  destroyed = false
  private readonly token: string
  private storeUrl: string | null = null
  private readonly onChange = () => this.emit('change', [])

  constructor(readonly room: string, readonly doc: Y.Doc, relay: { wsUrl: string; token: string }) {
    super()
    this.persistence = new IndexeddbPersistence(localName(room), doc)
    this.loaded = this.persistence.whenSynced.then(() => undefined)
    this.relay = new Peer(room, doc, { ...relay, markKey: RELAY_MARK + room })
    this.relay.on('change', this.onChange)
    this.relay.on('closed', (event) => this.emit('closed', [event]))
    this.relay.on('refused', (reason) => this.emit('refused', [reason]))
    this.token = relay.token
    doc.on('update', this.onChange)
  }

  /** Starts syncing with the relay and the home store's lab node, if any (idempotent). */
  connect(): void {
    this.active = true
    this.relay.start()
    this.store?.start()
  }

  /**
   * The home store's lab node changed (chosen, cleared, or the catalog moved it): `wsUrl` is its
   * LAN address, or null for none. What the previous one held is forgotten.
   */
  setStore(wsUrl: string | null): void {
    if (wsUrl === this.storeUrl) return
    this.storeUrl = wsUrl
    this.store?.forget()
    this.store = wsUrl ? this.makeStorePeer(wsUrl) : null
    if (this.active) this.store?.start()
    this.emit('change', [])
  }

  /** The device is back online: connect now instead of at the end of the providers' backoff. */
  reconnectNow(): void {
    this.relay.reconnectNow()
    this.store?.reconnectNow()
  }

  /** Stops syncing; the IndexedDB copy stays. */
  disconnect(): void {
    this.active = false
    this.relay.stop()
    this.store?.stop()
  }

  /** The connection to the relay. */
  get status(): LinkStatus { return this.relay.status }

  /** The connection to the home store's lab node; null when there is none to make. */
  get storeStatus(): LinkStatus | null { return this.store ? this.store.status : null }

  get synced(): boolean { return this.relay.synced }

  /** Writes the relay refused, in its words. */
  get denials(): string[] { return this.relay.denials }

  /** Writes the store's lab node refused, in its words. */
  get storeDenials(): string[] { return this.store?.denials ?? [] }

  /** Whether the relay has durably stored every change this device knows of. */
  get relayHasAll(): boolean { return this.relay.hasAll }

  /** Whether the relay has anything of this document at all. */
  get relayHasAny(): boolean { return this.relay.hasAny }

  /** Whether the home store's lab node has every change this device knows of. */
  get storeHasAll(): boolean { return this.store?.hasAll ?? false }

  override destroy(): void {
    this.destroyed = true
    this.disconnect()
    this.doc.off('update', this.onChange)
    this.relay.destroy()
    this.store?.destroy()
    void this.persistence.destroy()
    super.destroy()
  }

  /** Destroys the link and deletes the document's copy on this device. */
  forget(): void {
    this.destroy()
    void this.persistence.clearData()
    this.relay.forget()
    this.store?.forget()
  }

  /**
   * Destroys the link and deletes the document's copy on this device, resolving once the deletion
   * is done, so that a new copy of the same room opened afterwards starts empty. (y-indexeddb's
   * clearData does not wait for it.) Another tab holding the database open blocks the deletion
   * until it lets go; a new open waits behind it, so this does not wait for that.
   */
  async clear(): Promise<void> {
    const persistence = this.persistence
    this.destroy()
    this.relay.forget()
    this.store?.forget()
    await persistence.destroy()
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(localName(this.room))
      request.onsuccess = request.onerror = request.onblocked = () => resolve()
    })
  }

  private makeStorePeer(wsUrl: string): Peer {
    const peer = new Peer(this.room, this.doc, {
      wsUrl, token: this.token, markKey: `${STORE_MARK}${wsUrl}:${this.room}`, optional: true,
      // Customers only read the catalog; whatever a lab node's copy lacks comes from the relay.
      receiveOnly: this.room === roomName.catalog(),
    })
    peer.on('change', this.onChange)
    return peer
  }
}
