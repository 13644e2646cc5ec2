// One multiplexed sync socket (`/sync-mux`): routes each frame to its room's channel, opens rooms
// on join and closes them on leave, bounds the rooms a socket holds and counts each one beyond the
// first against the customer's sockets (quota.ts), so one socket carrying six rooms costs them
// what six one-room sockets would. A frame that is not a mux frame closes the whole socket; a bad
// or too big y-websocket message inside one closes its room only (Connection does, per channel).
import type { WebSocket } from 'ws'
import { Close, type CloseEvent } from '../shared/errors.ts'
import { parseRoom } from '../shared/schema.ts'
import type { Session } from './connection.ts'
import type { SyncSocket } from './endpoint.ts'
import { RoomChannel, type SharedSocket } from './mux-channel.ts'
import { closedFrame, MalformedFrameError, readMuxFrame } from '../shared/mux-frames.ts'
import type { Pausable, Quotas } from './quota.ts'

/** Rooms one socket may hold at once: the app holds the catalog, the user and its open orders. */
export const MAX_ROOMS_PER_SOCKET = 32

export interface MuxSocketOptions {
  session: Session
  token: string
  quotas: Quotas | null
  /** Bytes the socket may leave unread (config `limits.socketBufferBytes`); no limit when not given. */
  socketBufferBytes?: number
  unavailable?(): CloseEvent | null
  accepted(socket: SyncSocket): void
}

export class MuxSocket implements SharedSocket {
  private readonly channels = new Map<string, RoomChannel>()
  /** Quota units held for rooms beyond the first (the socket itself counts as one). */
  private readonly extraUnits: Pausable[] = []
  private gone = false

  constructor(private readonly ws: WebSocket, private readonly options: MuxSocketOptions) {
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary))
    ws.on('close', () => this.onGone())
    ws.on('error', () => this.closeSocket(Close.BadMessage))
  }

  get bufferedAmount(): number { return this.ws.bufferedAmount }
  pause(): void { this.ws.pause() }
  resume(): void { this.ws.resume() }

  send(frame: Uint8Array): void {
    if (this.gone || this.ws.readyState !== this.ws.OPEN) return
    this.ws.send(frame)
    // Every room shares this buffer: a reader that does not take it is cut, all its rooms with it,
    // as Connection cuts a one-room socket (a room's own close would only queue behind the bytes).
    const limit = this.options.socketBufferBytes ?? Infinity
    if (this.ws.bufferedAmount > limit) this.ws.terminate()
  }

  closed(channel: RoomChannel): void {
    if (this.channels.get(channel.roomName) !== channel) return
    this.channels.delete(channel.roomName)
    if (this.extraUnits.length > Math.max(0, this.channels.size - 1)) {
      this.options.quotas?.release(this.options.session.principal, this.extraUnits.pop()!)
    }
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.gone) return
    if (!isBinary) return this.closeSocket(Close.BadMessage)
    let frame
    try {
      frame = readMuxFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 'client')
    } catch (error) {
      if (error instanceof MalformedFrameError) return this.closeSocket(Close.BadMessage)
      throw error
    }
    switch (frame.kind) {
      // A room not open here: the client's frames sent before it saw the room closed. Dropped.
      case 'message': return this.channels.get(frame.room)?.deliver(frame.body)
      case 'join': return this.join(frame.room, frame.joinId)
      case 'leave': return this.channels.get(frame.room)?.left()
      default: return this.closeSocket(Close.BadMessage)
    }
  }

  /**
   * Opens `name` on this socket, or tells the client why not with a per-room closed frame: the
   * codes a one-room socket's upgrade would close with, checked in the same order.
   */
  private join(name: string, joinId: number): void {
    this.channels.get(name)?.left() // a join for a room already open starts it afresh
    const room = parseRoom(name)
    const refusal = this.options.unavailable?.()
      ?? (!room ? Close.Forbidden : !this.countRoom() ? Close.TooManySockets : null)
    if (refusal) return this.send(closedFrame(name, joinId, refusal.code, refusal.reason))
    const channel = new RoomChannel(name, joinId, this)
    this.channels.set(name, channel)
    this.options.accepted({ ws: channel, session: this.options.session, room: room!, token: this.options.token })
  }

  /** Counts one more room against the socket's bound and the customer's sockets; false when over either. */
  private countRoom(): boolean {
    if (this.channels.size >= MAX_ROOMS_PER_SOCKET) return false
    if (this.channels.size === 0 || !this.options.quotas) return true // the first rides on the socket's own count
    const unit: Pausable = { pause: () => this.ws.pause(), resume: () => this.ws.resume() }
    if (!this.options.quotas.admit(this.options.session.principal, unit)) return false
    this.extraUnits.push(unit)
    return true
  }

  private closeSocket(event: CloseEvent): void {
    if (this.gone) return
    this.ws.close(event.code, event.reason)
    this.onGone()
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2_000).unref()
  }

  private onGone(): void {
    if (this.gone) return
    this.gone = true
    // Each channel's close gives its count back (closed()).
    for (const channel of [...this.channels.values()]) channel.terminate()
  }
}
