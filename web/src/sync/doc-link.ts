// One Yjs document on this device: kept in IndexedDB (y-indexeddb) and synced with the relay over
// a stock y-websocket provider. It also tracks what the relay has durably stored (the relay sends
// its state vector on connect and echoes every write only once it is durable), which is how the
// app tells "on this device only" from "sent".
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ObservableV2 } from 'lib0/observable'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import { LOCAL_PREFIX } from '../session/device.ts'

export type LinkStatus = 'offline' | 'connecting' | 'connected'

export interface LinkEvents {
  change: () => void
  /** The relay closed with a permanent code (44xx); the provider stopped. */
  closed: (event: { code: number; reason: string }) => void
}

type MessageHandler = (encoder: encoding.Encoder, decoder: decoding.Decoder, provider: WebsocketProvider, emitSynced: boolean, type: number) => void

/** The IndexedDB database a room is kept in on this device. */
export const localName = (room: string): string => `${LOCAL_PREFIX}:${room}`

const MARK_PREFIX = `${LOCAL_PREFIX}.relay-has:`

export class DocLink extends ObservableV2<LinkEvents> {
  readonly persistence: IndexeddbPersistence
  provider: WebsocketProvider | null = null
  /** Writes the relay refused, in its words. */
  readonly denials: string[] = []
  closedWith: { code: number; reason: string } | null = null
  /** Resolves once the copy in IndexedDB is loaded into the document. */
  readonly loaded: Promise<void>
  private relayHas: Map<number, number>
  private readonly onUpdate = () => this.emit('change', [])

  constructor(readonly room: string, readonly doc: Y.Doc, private readonly relay: { wsUrl: string; token: string }) {
    super()
    this.persistence = new IndexeddbPersistence(localName(room), doc)
    this.loaded = this.persistence.whenSynced.then(() => undefined)
    this.relayHas = readMark(room)
    doc.on('update', this.onUpdate)
  }

  /** Starts syncing with the relay (idempotent). */
  connect(): void {
    if (this.provider || this.closedWith) return
    const provider = new WebsocketProvider(`${this.relay.wsUrl}/sync`, this.room, this.doc, { params: { token: this.relay.token } })
    const handlers = provider.messageHandlers as unknown as MessageHandler[]
    const sync = handlers[0]
    handlers[0] = (encoder, decoder, p, fromSocket, type) => {
      // BroadcastChannel messages from other tabs come through here too; only the socket speaks for the relay.
      if (fromSocket) this.noteRelayMessage(decoding.clone(decoder))
      sync(encoder, decoder, p, fromSocket, type)
    }
    handlers[2] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => {
        this.denials.push(reason)
        this.emit('change', [])
      })
    }
    provider.on('status', () => this.emit('change', []))
    provider.on('sync', () => this.emit('change', []))
    provider.on('closed', (event) => {
      this.closedWith = event
      this.emit('closed', [event])
      this.emit('change', [])
    })
    this.provider = provider
  }

  /**
   * The device is back online: connect now instead of at the end of the provider's backoff, which
   * grows while offline.
   */
  reconnectNow(): void {
    const provider = this.provider
    if (!provider || provider.wsconnected) return
    provider.disconnect()
    provider.connect()
  }

  /** Stops syncing with the relay; the IndexedDB copy stays. */
  disconnect(): void {
    if (!this.provider) return
    this.provider.awareness.destroy()
    this.provider.destroy()
    this.provider = null
    this.emit('change', [])
  }

  get status(): LinkStatus {
    if (!this.provider) return 'offline'
    if (this.provider.wsconnected) return 'connected'
    return this.provider.wsconnecting ? 'connecting' : 'offline'
  }

  get synced(): boolean {
    return this.provider?.synced ?? false
  }

  /** Whether the relay has durably stored every change this device knows of. */
  get relayHasAll(): boolean {
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) {
      if ((this.relayHas.get(client) ?? 0) < clock) return false
    }
    return true
  }

  /** Whether the relay has anything of this document at all. */
  get relayHasAny(): boolean {
    return this.relayHas.size > 0
  }

  override destroy(): void {
    this.disconnect()
    this.doc.off('update', this.onUpdate)
    void this.persistence.destroy()
    super.destroy()
  }

  /** Destroys the link and deletes the document's copy on this device. */
  forget(): void {
    this.destroy()
    void this.persistence.clearData()
    localStorage.removeItem(MARK_PREFIX + this.room)
  }

  /**
   * The relay's sync step 1 carries its whole state vector; its step 2 and updates carry writes it
   * has made durable. Together they say what the relay holds.
   */
  private noteRelayMessage(decoder: decoding.Decoder): void {
    try {
      const step = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      // An update's `to` is where each writer's run ends; the relay only sends what it has integrated
      // (its step 2 answers our state vector, its echoes are durable writes), so it holds all before.
      const vector = step === syncProtocol.messageYjsSyncStep1 ? Y.decodeStateVector(payload) : Y.parseUpdateMeta(payload).to
      let grew = false
      for (const [client, clock] of vector) {
        if ((this.relayHas.get(client) ?? 0) < clock) {
          this.relayHas.set(client, clock)
          grew = true
        }
      }
      if (grew) {
        writeMark(this.room, this.relayHas)
        this.emit('change', [])
      }
    } catch {
      // Not ours to judge: the provider's own handler reads the same message and reports trouble.
    }
  }
}

/** What the relay was last known to hold, kept so that a reload offline still knows "sent". */
function readMark(room: string): Map<number, number> {
  try {
    const entries = JSON.parse(localStorage.getItem(MARK_PREFIX + room) ?? '[]') as Array<[number, number]>
    return new Map(entries)
  } catch {
    return new Map()
  }
}

function writeMark(room: string, vector: Map<number, number>): void {
  try {
    localStorage.setItem(MARK_PREFIX + room, JSON.stringify([...vector]))
  } catch { /* storage full: the mark is a convenience, the next connection rebuilds it */ }
}
