// One y-websocket socket on one room: waits for the room to load (nothing is sent before),
// decodes each frame, checks rights on every message, and closes with a named code on trouble.
import type { WebSocket } from 'ws'
import type { Principal } from '../shared/rights.ts'
import type { Room as RoomName } from '../shared/schema.ts'
import { Close, type CloseEvent } from '../shared/errors.ts'
import type { Peer, Room } from './room.ts'
import { readMessage } from '../shared/sync-protocol.ts'
import type { Rooms } from './rooms.ts'
import type { Limits } from '../shared/limits.ts'

const MAX_BACKLOG = 1_000
const SESSION_RECHECK_MS = 5_000
/** The longest delay a Node timer takes (about 24.8 days); a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface Session {
  principal: Principal
  /** Epoch ms after which the token no longer counts; Infinity for config keys. */
  expiresAt: number
}

export interface ConnectionOptions {
  maxMessageBytes: number
  /** Bytes buffered per socket (relay config `limits`); no limit when not given. */
  limits?: Pick<Limits, 'socketBufferBytes'>
  now: () => number
  /** Checks, on every message, that the session still holds (not expired, not revoked). */
  stillValid: (session: Session) => boolean
}

export class Connection implements Peer {
  readonly awarenessIds = new Set<number>()
  private room: Room | null = null
  private backlog: Uint8Array[] = []
  private closed = false
  private lastSessionCheck = -Infinity
  private expiry: NodeJS.Timeout | null = null

  constructor(
    private readonly socket: WebSocket,
    private readonly session: Session,
    private readonly roomName: RoomName,
    private readonly rooms: Rooms,
    private readonly options: ConnectionOptions,
  ) {
    socket.binaryType = 'nodebuffer'
    socket.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary))
    socket.on('close', () => this.onClosed())
    socket.on('error', () => this.close(Close.BadMessage))
    this.watchExpiry()
    rooms.get(roomName).then(
      (room) => this.onLoaded(room),
      (error: Error) => {
        console.error(`relay: loading ${roomName.name} failed: ${error.message}`)
        this.close(Close.LoadFailed)
      },
    )
  }

  get principal(): Principal {
    return this.session.principal
  }

  send(message: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return
    this.socket.send(message)
    const limit = this.options.limits?.socketBufferBytes ?? Infinity
    if (this.socket.bufferedAmount > limit) this.cutSlowReader(limit)
  }

  close(event: CloseEvent): void {
    if (this.closed) return
    this.closed = true
    if (this.expiry) clearTimeout(this.expiry)
    this.room?.leave(this)
    if (this.room) this.rooms.released(this.room)
    this.socket.close(event.code, event.reason)
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.socket.terminate(), 2_000).unref()
  }

  /**
   * A reader that does not take what is sent to it (a vanished phone, or a client asking for the
   * whole document again and again and never reading) would hold its buffer until the heartbeat
   * noticed, ~30 s later: 15 of them on a 30 MiB document took 700 MiB. It is cut at once; the
   * close frame waits behind the unread bytes, so the socket is destroyed too, freeing them now.
   */
  private cutSlowReader(limit: number): void {
    const unread = this.socket.bufferedAmount
    const who = this.principal.kind === 'user' ? `customer ${this.principal.userId}` : this.principal.kind
    console.error(`relay: ${this.roomName.name}: a socket of ${who} left ${unread} bytes unread (limit ${limit}), closed with ${Close.SlowReader.code}`)
    this.close(Close.SlowReader)
    this.socket.terminate()
  }

  private onLoaded(room: Room): void {
    if (this.closed) {
      this.rooms.released(room)
      return
    }
    // Unknown and forbidden rooms answer alike: the same close, after the same load.
    if (!room.mayRead(this.principal)) {
      this.room = null
      this.rooms.released(room)
      this.close(Close.Forbidden)
      return
    }
    this.room = room
    room.join(this)
    const backlog = this.backlog
    this.backlog = []
    for (const frame of backlog) if (!this.closed) this.handle(frame)
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return
    if (data.length > this.options.maxMessageBytes) return this.close(Close.MessageTooBig)
    if (!isBinary) return this.close(Close.BadMessage)
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (this.room !== null) return this.handle(frame)
    // Frames that arrive while the document loads wait; a flood of them does not.
    if (this.backlog.length >= MAX_BACKLOG) return this.close(Close.MessageTooBig)
    this.backlog.push(frame)
  }

  private handle(frame: Uint8Array): void {
    const room = this.room!
    if (!this.sessionHolds()) return this.close(Close.Unauthorized)
    if (!room.mayRead(this.principal)) return this.close(Close.Forbidden)
    try {
      const message = readMessage(frame)
      switch (message.kind) {
        case 'sync-step1':
          room.answerStep1(this, message.stateVector)
          break
        case 'sync-step2':
        case 'sync-update':
          room.receiveUpdate(this, message.update)
          break
        case 'awareness':
          room.receiveAwareness(this, message.update)
          break
        case 'query-awareness':
          room.answerAwarenessQuery(this)
          break
        case 'auth':
          break // clients have nothing to say to the server on this channel
        default:
          return this.close(Close.BadMessage)
      }
    } catch {
      // Truncated varints, updates Yjs cannot read, awareness garbage: this socket goes, the room stays.
      this.close(Close.BadMessage)
    }
  }

  /**
   * Expiry is checked on every message; a sign-out (a database look-up) at most every few
   * seconds, which was 4% of the relay's CPU when done per message.
   */
  private sessionHolds(): boolean {
    const now = this.options.now()
    if (this.session.expiresAt <= now) return false
    if (now - this.lastSessionCheck < SESSION_RECHECK_MS) return true
    this.lastSessionCheck = now
    return this.options.stillValid(this.session)
  }

  /**
   * A session that expires while its socket is quiet is closed then (4401), not at the socket's next
   * message: until then it would go on receiving the documents it had open.
   */
  private watchExpiry(): void {
    const left = this.session.expiresAt - this.options.now()
    if (!Number.isFinite(left)) return // config keys do not expire
    this.expiry = setTimeout(() => {
      if (this.closed) return
      if (this.session.expiresAt <= this.options.now()) this.close(Close.Unauthorized)
      else this.watchExpiry()
    }, Math.min(Math.max(left, 0) + 10, MAX_TIMER_MS))
    this.expiry.unref()
  }

  private onClosed(): void {
    if (this.expiry) clearTimeout(this.expiry)
    if (!this.closed) {
      this.closed = true
      this.room?.leave(this)
      if (this.room) this.rooms.released(this.room)
    }
  }
}
