// One document synced over the app's multiplexed connection (mux-client.ts), as a y-websocket
// provider would over a socket of its own: joins with sync step 1 whenever the socket opens,
// answers and applies sync messages, sends local changes, and shares them between the device's
// tabs over a BroadcastChannel. A room the server closes with 44xx stops; with 45xx it joins again
// after a backoff, without touching the other rooms on the socket.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as bc from 'lib0/broadcastchannel'
import { ObservableV2 } from 'lib0/observable'
import * as syncProtocol from 'y-protocols/sync'
import * as authProtocol from 'y-protocols/auth'
import { isFinalClose } from '../../../shared/errors.ts'
import { MESSAGE_AUTH, MESSAGE_SYNC, updateMessage } from '../../../shared/sync-protocol.ts'
import { joinFrame, messageFrame, type MuxFrame } from '../../../shared/mux-frames.ts'
import { backoffMs, type MuxConnection, type MuxMember, type MuxStatus } from './mux-client.ts'

export interface MuxRoomEvents {
  /** Joined, left, synced or not: the status or `synced` changed. */
  status: () => void
  /** The server closed the room with a permanent code (44xx); the room stopped. */
  closed: (event: { code: number; reason: string }) => void
  /** The server refused a write (a y-websocket permission-denied message), in its words. */
  refused: (reason: string) => void
  /** A sync message from the server (not from another tab), positioned after its type. */
  'server-sync': (decoder: decoding.Decoder) => void
}

let joins = 0

export class MuxRoom extends ObservableV2<MuxRoomEvents> implements MuxMember {
  joined = false
  synced = false
  closedWith: { code: number; reason: string } | null = null
  private joinId = -1
  private started = false
  private refusedJoins = 0
  private rejoin: ReturnType<typeof setTimeout> | null = null
  private readonly channel: string
  private readonly onUpdate = (update: Uint8Array, origin: unknown) => this.localUpdate(update, origin)
  private readonly onTab = (data: ArrayBuffer, origin: unknown) => { if (origin !== this) this.fromTab(new Uint8Array(data)) }

  constructor(readonly name: string, readonly doc: Y.Doc, private readonly connection: MuxConnection, private readonly options: { receiveOnly?: boolean } = {}) {
    super()
    this.channel = `${connection.url}/${name}`
  }

  get status(): MuxStatus {
    if (!this.started) return 'offline'
    if (this.joined) return 'connected'
    return this.connection.status === 'offline' ? 'offline' : 'connecting'
  }

  start(): void {
    if (this.started || this.closedWith) return
    this.started = true
    this.doc.on('update', this.onUpdate)
    if (typeof BroadcastChannel !== 'undefined') {
      bc.subscribe(this.channel, this.onTab)
      this.toTabs((encoder) => syncProtocol.writeSyncStep1(encoder, this.doc))
      this.toTabs((encoder) => syncProtocol.writeSyncStep2(encoder, this.doc))
    }
    this.connection.attach(this)
    this.emit('status', [])
  }

  stop(): void {
    if (!this.started) return
    this.started = false
    this.doc.off('update', this.onUpdate)
    if (typeof BroadcastChannel !== 'undefined') bc.unsubscribe(this.channel, this.onTab)
    if (this.rejoin) { clearTimeout(this.rejoin); this.rejoin = null }
    this.connection.detach(this)
    this.joined = false
    this.synced = false
    this.emit('status', [])
  }

  opened(): void {
    if (!this.started) return
    this.joinId = ++joins
    this.connection.send(joinFrame(this.name, this.joinId))
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeSyncStep1(encoder, this.doc)
    this.connection.send(messageFrame(this.name, encoding.toUint8Array(encoder)))
    this.joined = true
    this.emit('status', [])
  }

  socketClosed(): void {
    if (this.rejoin) { clearTimeout(this.rejoin); this.rejoin = null }
    this.joined = false
    this.synced = false
    this.emit('status', [])
  }

  receive(frame: Exclude<MuxFrame, { kind: 'join' | 'leave' }>): void {
    if (frame.kind === 'closed') return this.closedByServer(frame)
    if (!this.joined) return
    const decoder = decoding.createDecoder(frame.body)
    const type = decoding.readVarUint(decoder)
    if (type === MESSAGE_SYNC) {
      this.emit('server-sync', [decoding.clone(decoder)])
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      const step = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this)
      // Receive-only: the answer to the server's sync step 1 (what it lacks) is not sent.
      if (encoding.length(encoder) > 1 && !this.options.receiveOnly) this.connection.send(messageFrame(this.name, encoding.toUint8Array(encoder)))
      if (step === syncProtocol.messageYjsSyncStep2 && !this.synced) {
        this.synced = true
        this.refusedJoins = 0
        this.connection.synced()
        this.emit('status', [])
      }
    } else if (type === MESSAGE_AUTH) {
      authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this.emit('refused', [reason]))
    }
  }

  override destroy(): void {
    this.stop()
    super.destroy()
  }

  /** A close of this join (or of the whole socket, joinId -1): 44xx stops the room, 45xx joins again later. */
  private closedByServer(frame: { joinId: number; code: number; reason: string }): void {
    if (frame.joinId !== -1 && frame.joinId !== this.joinId) return // the close of an earlier join
    this.joined = false
    this.synced = false
    if (isFinalClose(frame.code) || frame.joinId === -1) {
      this.closedWith = { code: frame.code, reason: frame.reason }
      this.stop()
      this.emit('closed', [this.closedWith])
      return
    }
    const wait = backoffMs(++this.refusedJoins, this.connection.options.maxBackoffTime ?? 2500)
    this.rejoin = setTimeout(() => {
      this.rejoin = null
      if (this.started && this.connection.status === 'connected') this.opened()
    }, wait)
    this.emit('status', [])
  }

  /** A change made on this device (not one this room brought in): to the server and the other tabs. */
  private localUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === this || this.options.receiveOnly) return
    if (this.joined) this.connection.send(messageFrame(this.name, updateMessage(update)))
    if (typeof BroadcastChannel !== 'undefined') this.toTabs((encoder) => syncProtocol.writeUpdate(encoder, update))
  }

  /** A sync message from another tab of this device, applied as this room's (so not sent on again). */
  private fromTab(message: Uint8Array): void {
    const decoder = decoding.createDecoder(message)
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.readSyncMessage(decoder, encoder, this.doc, this)
    if (encoding.length(encoder) > 1) bc.publish(this.channel, encoding.toUint8Array(encoder), this)
  }

  private toTabs(write: (encoder: encoding.Encoder) => void): void {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    write(encoder)
    bc.publish(this.channel, encoding.toUint8Array(encoder), this)
  }
}
