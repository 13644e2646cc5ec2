// One room on a multiplexed socket, shaped as the ws WebSocket a one-room socket would be: the
// relay's and the lab node's `accepted` callbacks, and Connection, take it unchanged, so each room
// gets the same rights checks, load gate, durable echo and refusals as on its own socket. What it
// sends goes out on the shared socket prefixed with the room's name; its close is a per-room
// "closed" frame that leaves the other rooms alone.
import { WebSocket } from 'ws'
import { closedFrame, messageFrame } from '../shared/mux-frames.ts'

/** What a channel needs of the socket it shares. */
export interface SharedSocket {
  send(frame: Uint8Array): void
  pause(): void
  resume(): void
  readonly bufferedAmount: number
  /** The channel closed (by the server, the client's leave, or the socket going). */
  closed(channel: RoomChannel): void
}

export class RoomChannel extends WebSocket {
  /** OPEN until closed; read through readyState (below). */
  state: number = WebSocket.OPEN

  constructor(readonly roomName: string, readonly joinId: number, readonly shared: SharedSocket) {
    // ws builds its server-side sockets this way (address null, then a TCP socket set); this one
    // never gets a TCP socket: every method that would touch it is replaced below. (The cast: the
    // types offer no overload with null and options, which ws reads.)
    super(null as unknown as string, undefined, {})
  }

  /** A y-websocket message from the client for this room. */
  deliver(body: Uint8Array): void {
    if (this.state !== WebSocket.OPEN) return
    this.emit('message', Buffer.from(body.buffer, body.byteOffset, body.byteLength), true)
  }

  override send(data: unknown): void {
    if (this.state !== WebSocket.OPEN) return
    this.shared.send(messageFrame(this.roomName, data as Uint8Array))
  }

  /** Closes this room on the socket: the client is told with a per-room closed frame. */
  override close(code = 1000, reason = ''): void {
    if (this.state !== WebSocket.OPEN) return
    this.shared.send(closedFrame(this.roomName, this.joinId, code, reason))
    this.end(code, reason)
  }

  /** Closes this room without telling the client: it left, or the socket itself went. */
  override terminate(): void {
    this.end(1006, '')
  }

  /** The client left the room. */
  left(): void {
    this.end(1000, '')
  }

  // The customer's quota pauses reading from every socket they hold: here, the shared one.
  override pause(): void { this.shared.pause() }
  override resume(): void { this.shared.resume() }
  // Liveness is the shared socket's (the heartbeat pings it).
  override ping(): void {}
  override pong(): void {}

  private end(code: number, reason: string): void {
    if (this.state === WebSocket.CLOSED) return
    this.state = WebSocket.CLOSED
    this.shared.closed(this)
    this.emit('close', code, Buffer.from(reason))
  }
}

// Over ws's getters, which read its TCP socket. On the prototype, once: set on each instance,
// they turned every channel's properties into a dictionary, 3 KiB a room.
Object.defineProperty(RoomChannel.prototype, 'readyState', { get(this: RoomChannel) { return this.state } })
Object.defineProperty(RoomChannel.prototype, 'bufferedAmount', { get(this: RoomChannel) { return this.shared.bufferedAmount } })
