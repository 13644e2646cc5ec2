// One server a document on this device syncs with — the relay, over the app's one multiplexed
// socket (mux-room.ts), or the home store's lab node over the shop's LAN, through a stock
// y-websocket provider — and what that server is known to hold: its sync step 1 carries its whole
// state vector, its step 2 and echoes carry writes it has stored. That knowledge, kept in
// localStorage, is how the app tells "on this device only" from "sent".
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ObservableV2 } from 'lib0/observable'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import { WebsocketProvider } from 'y-websocket'
import { sharedConnection } from './mux-client.ts'
import { MuxRoom } from './mux-room.ts'

export type LinkStatus = 'offline' | 'connecting' | 'connected'

export interface PeerEvents {
  change: () => void
  /** The server closed with a permanent code (44xx); the provider stopped. */
  closed: (event: { code: number; reason: string }) => void
  /** The server refused a write (a y-websocket permission-denied message), in its words. */
  refused: (reason: string) => void
}

export interface PeerOptions {
  /** `ws(s)://host:port`, without `/sync`. */
  wsUrl: string
  token: string
  /** The localStorage key under which what the server holds is remembered. */
  markKey: string
  /**
   * A peer that may well be absent (the store's lab node when the customer is elsewhere): it backs
   * off gently, never stops for good on a close code, and leaves cross-tab messaging to the relay's
   * provider so that tabs do not hear every change twice. Nor does it pass on, as they arrive,
   * changes another provider brought in: the relay's receipt and the lab's progress reach the lab
   * node through its own link to the relay, and it does not take them from a customer.
   */
  optional?: boolean
  /** Only take from the server (a document it does not take from customers: the catalog). */
  receiveOnly?: boolean
}

/** What a peer syncs through: a stock provider, or a room on the app's one socket to the relay. */
interface Link {
  readonly status: LinkStatus
  readonly synced: boolean
  reconnectNow(): void
  destroy(): void
}

/** The relay's multiplexed endpoint (sync-server/endpoint.ts MUX_PATH). */
const MUX_PATH = '/sync-mux'

type MessageHandler = (encoder: encoding.Encoder, decoder: decoding.Decoder, provider: WebsocketProvider, emitSynced: boolean, type: number) => void

/** Refusals kept per peer, for the customer's eyes (the latest is the one shown). */
const MAX_DENIALS = 10

/** Longest wait between attempts to reach an optional peer. */
const OPTIONAL_BACKOFF_MS = 15_000

export class Peer extends ObservableV2<PeerEvents> {
  private link: Link | null = null
  /** Writes the server refused, in its words. */
  readonly denials: string[] = []
  closedWith: { code: number; reason: string } | null = null
  private has: Map<number, number>

  constructor(readonly room: string, readonly doc: Y.Doc, readonly options: PeerOptions) {
    super()
    this.has = readMark(options.markKey)
  }

  /** Starts syncing (idempotent; not after a permanent close). */
  start(): void {
    if (this.link || this.closedWith) return
    this.link = this.options.optional ? this.stockLink() : this.muxLink()
  }

  /** Connect now instead of at the end of the backoff, which grows while unreachable. */
  reconnectNow(): void {
    this.link?.reconnectNow()
  }

  /** Stops syncing; what the server was known to hold is kept. */
  stop(): void {
    if (!this.link) return
    this.link.destroy()
    this.link = null
    this.emit('change', [])
  }

  get status(): LinkStatus {
    return this.link?.status ?? 'offline'
  }

  get synced(): boolean {
    return this.link?.synced ?? false
  }

  /** Whether the server has stored every change this device knows of. */
  get hasAll(): boolean {
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) {
      if ((this.has.get(client) ?? 0) < clock) return false
    }
    return true
  }

  /** Whether the server has anything of this document at all. */
  get hasAny(): boolean {
    return this.has.size > 0
  }

  override destroy(): void {
    this.stop()
    super.destroy()
  }

  /** Destroys the peer and what this device remembers of it. */
  forget(): void {
    this.destroy()
    localStorage.removeItem(this.options.markKey)
  }

  /** The relay: this document as one room on the app's shared socket. */
  private muxLink(): Link {
    const { wsUrl, token, receiveOnly } = this.options
    const connection = sharedConnection(wsUrl + MUX_PATH, token)
    const room = new MuxRoom(this.room, this.doc, connection, { receiveOnly })
    room.on('server-sync', (decoder) => this.noteServerMessage(decoder))
    room.on('refused', (reason) => this.refused(reason))
    room.on('status', () => this.emit('change', []))
    room.on('closed', (event) => this.closedFor(event))
    room.start()
    return {
      get status() { return room.status },
      get synced() { return room.synced },
      reconnectNow: () => connection.reconnectNow(),
      destroy: () => room.destroy(),
    }
  }

  /** The in-store link: a stock y-websocket provider on `/sync/<room>`. */
  private stockLink(): Link {
    const { wsUrl, token, optional, receiveOnly } = this.options
    const provider = new WebsocketProvider(`${wsUrl}/sync`, this.room, this.doc, {
      params: { token },
      ...(optional ? { maxBackoffTime: OPTIONAL_BACKOFF_MS, disableBc: true, shouldReconnect: () => true } : {}),
    })
    if (optional) passOnChanges(provider, receiveOnly ? () => false : (origin) => !(origin instanceof WebsocketProvider))
    const handlers = provider.messageHandlers as unknown as MessageHandler[]
    const sync = handlers[0]
    handlers[0] = (encoder, decoder, p, fromSocket, type) => {
      // BroadcastChannel messages from other tabs come through here too; only the socket speaks for the server.
      if (fromSocket) this.noteServerMessage(decoding.clone(decoder))
      // Receive-only: the answer to the server's sync step 1 (what it lacks) is not sent.
      sync(receiveOnly ? encoding.createEncoder() : encoder, decoder, p, fromSocket, type)
    }
    handlers[2] = (_encoder, decoder) => {
      authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this.refused(reason))
    }
    provider.on('status', () => this.emit('change', []))
    provider.on('sync', () => this.emit('change', []))
    provider.on('closed', (event) => this.closedFor(event))
    return {
      get status() { return provider.wsconnected ? 'connected' : provider.wsconnecting ? 'connecting' : 'offline' },
      get synced() { return provider.synced },
      reconnectNow() {
        if (provider.wsconnected) return
        provider.disconnect()
        provider.connect()
      },
      destroy() {
        provider.awareness.destroy()
        provider.destroy()
      },
    }
  }

  private refused(reason: string): void {
    // Also for the console, as a stock provider does: a refusal is a fact for whoever debugs the app.
    console.warn(`labsync: ${this.options.wsUrl} refused a write to ${this.room}: ${reason}`)
    // Bounded: a peer refused on every reconnection must not grow this for as long as the page lives.
    if (this.denials.push(reason) > MAX_DENIALS) this.denials.shift()
    this.emit('refused', [reason])
    this.emit('change', [])
  }

  private closedFor(event: { code: number; reason: string }): void {
    this.closedWith = event
    this.emit('closed', [event])
    this.emit('change', [])
  }

  /**
   * An update's `to` is where each writer's run ends; the server only sends what it has integrated
   * (its step 2 answers our state vector, its echoes are stored writes), so it holds all before.
   */
  private noteServerMessage(decoder: decoding.Decoder): void {
    try {
      const step = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      const vector = step === syncProtocol.messageYjsSyncStep1 ? Y.decodeStateVector(payload) : Y.parseUpdateMeta(payload).to
      let grew = false
      for (const [client, clock] of vector) {
        if ((this.has.get(client) ?? 0) < clock) {
          this.has.set(client, clock)
          grew = true
        }
      }
      if (grew) {
        writeMark(this.options.markKey, this.has)
        this.emit('change', [])
      }
    } catch {
      // Not ours to judge: the provider's own handler reads the same message and reports trouble.
    }
  }
}

/** Lets `provider` send, as they happen, only the changes whose origin `allowed` accepts. */
function passOnChanges(provider: WebsocketProvider, allowed: (origin: unknown) => boolean): void {
  const internals = provider as unknown as { _updateHandler: (update: Uint8Array, origin: unknown) => void }
  const send = internals._updateHandler
  provider.doc.off('update', send)
  internals._updateHandler = (update, origin) => {
    if (allowed(origin)) send(update, origin)
  }
  provider.doc.on('update', internals._updateHandler)
}

/** What the server was last known to hold, kept so that a reload offline still knows "sent". */
function readMark(key: string): Map<number, number> {
  try {
    const entries = JSON.parse(localStorage.getItem(key) ?? '[]') as Array<[number, number]>
    return new Map(entries)
  } catch {
    return new Map()
  }
}

function writeMark(key: string, vector: Map<number, number>): void {
  try {
    localStorage.setItem(key, JSON.stringify([...vector]))
  } catch { /* storage full: the mark is a convenience, the next connection rebuilds it */ }
}
