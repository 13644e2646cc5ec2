// A Node client of a `/sync-mux` endpoint (frames in shared/mux-frames.ts) for servers that pass
// documents on to the relay: the lab node's relay link and its in-store forwarder. One socket per
// identity carries all its rooms; past the relay's bound of rooms per socket (MAX_ROOMS_PER_SOCKET)
// another one opens, so a lab showing 50 orders still has every one. Unlike the app's client
// (web/src/sync/mux-client.ts) the token goes in a header, is read again at every connection (a
// customer's may change), and liveness is a ws ping: a server answers those without any room.
import WebSocket from 'ws'
import { isFinalClose } from '../shared/errors.ts'
import { leaveFrame, MalformedFrameError, readMuxFrame, type MuxFrame } from '../shared/mux-frames.ts'
import { MAX_ROOMS_PER_SOCKET } from './mux-socket.ts'

/** What arrives for one room: a y-websocket message, or its close (joinId -1: the whole socket's). */
export type UplinkFrame = Extract<MuxFrame, { kind: 'message' | 'closed' }>

/** One room on the uplink (a document passed on). */
export interface UplinkMember {
  readonly name: string
  /** The socket is open, with `token`: join (with a fresh joinId) and send sync step 1. */
  opened(token: string): void
  /** The socket went: the room is not joined until the next opened(). */
  socketClosed(): void
  receive(frame: UplinkFrame): void
}

export interface UplinkOptions {
  /** ws:// or wss:// URL of the endpoint, e.g. ws://relay:8080/sync-mux */
  url: string
  /** Read at every connection; null: none valid now, wait (reconnectNow() when one arrives). */
  token: () => string | null
  log?: (line: string) => void
  minBackoffMs?: number
  maxBackoffMs?: number
  /** A socket that has not answered the previous ping after this long is taken for dead. */
  heartbeatMs?: number
  /** Rooms per socket (the server's bound); tests lower it. */
  maxRooms?: number
  random?: () => number
}

const NO_TOKEN_RETRY_MS = 30_000

export class MuxUplink {
  private readonly sockets: UplinkSocket[] = []
  private readonly placed = new Map<UplinkMember, UplinkSocket>()
  private closed = false

  constructor(readonly options: UplinkOptions) {}

  /** Sockets open or being opened now (what a lab node holds at the relay). */
  get socketCount(): number {
    return this.sockets.filter((socket) => socket.open).length
  }

  /** Whether `member`'s socket is open (its room may still be joining). */
  isOpen(member: UplinkMember): boolean {
    return this.placed.get(member)?.open ?? false
  }

  /** Adds a room: it joins now if its socket is open, else once it opens. */
  attach(member: UplinkMember): void {
    if (this.closed || this.placed.has(member)) return
    const maxRooms = this.options.maxRooms ?? MAX_ROOMS_PER_SOCKET
    let socket = this.sockets.find((s) => s.members.size < maxRooms && !s.finished)
    if (!socket) {
      socket = new UplinkSocket(this.options, () => this.forget(socket!))
      this.sockets.push(socket)
    }
    this.placed.set(member, socket)
    socket.add(member)
  }

  /** Removes a room (the server is told it left); a socket closes with its last room. */
  detach(member: UplinkMember): void {
    const socket = this.placed.get(member)
    if (!socket) return
    this.placed.delete(member)
    socket.remove(member)
  }

  /** Sends a frame on `member`'s socket; dropped when it is not open (the next join resyncs). */
  send(member: UplinkMember, frame: Uint8Array): void {
    this.placed.get(member)?.send(frame)
  }

  /** A token may have arrived, or the network is back: sockets waiting to retry try now. */
  reconnectNow(): void {
    for (const socket of this.sockets) socket.reconnectNow()
  }

  close(): void {
    this.closed = true
    for (const socket of [...this.sockets]) socket.finish()
    this.placed.clear()
  }

  /** A socket ended for good (its last room left, or a final close): its members are no longer placed. */
  private forget(socket: UplinkSocket): void {
    const at = this.sockets.indexOf(socket)
    if (at >= 0) this.sockets.splice(at, 1)
    for (const [member, placedOn] of this.placed) if (placedOn === socket) this.placed.delete(member)
  }
}

/** One socket of an uplink and the rooms on it, reconnecting with backoff until finished. */
class UplinkSocket {
  readonly members = new Set<UplinkMember>()
  finished = false
  /** The token of the latest connection: what the server's answers refer to. */
  private token = ''
  private ws: WebSocket | null = null
  private backoffMs: number
  private retry: NodeJS.Timeout | null = null
  private heartbeat: NodeJS.Timeout | null = null
  private awaitingPong = false
  private waitingForToken = false

  constructor(private readonly options: UplinkOptions, private readonly onFinished: () => void) {
    this.backoffMs = options.minBackoffMs ?? 250
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  add(member: UplinkMember): void {
    this.members.add(member)
    if (this.open) member.opened(this.token)
    else this.connect()
  }

  remove(member: UplinkMember): void {
    if (!this.members.delete(member)) return
    this.send(leaveFrame(member.name))
    if (this.members.size === 0) this.finish()
  }

  send(frame: Uint8Array): void {
    if (this.open) this.ws!.send(frame)
  }

  reconnectNow(): void {
    if (this.finished || this.ws || !this.retry) return
    clearTimeout(this.retry)
    this.retry = null
    this.backoffMs = this.options.minBackoffMs ?? 250
    this.connect()
  }

  finish(): void {
    if (this.finished) return
    this.finished = true
    if (this.retry) clearTimeout(this.retry)
    this.retry = null
    this.drop()?.terminate()
    this.members.clear()
    this.onFinished()
  }

  private connect(): void {
    if (this.finished || this.ws || this.retry || this.members.size === 0) return
    const token = this.options.token()
    if (!token) {
      if (!this.waitingForToken) this.options.log?.(`no valid token to reach ${this.options.url}; waiting for one`)
      this.waitingForToken = true
      this.retry = setTimeout(() => { this.retry = null; this.connect() }, NO_TOKEN_RETRY_MS)
      this.retry.unref()
      return
    }
    this.waitingForToken = false
    this.token = token
    // The token goes in a header, not the URL: URLs end up in error messages and logs.
    const ws = new WebSocket(this.options.url, { handshakeTimeout: 10_000, maxPayload: 64 * 1024 * 1024, headers: { authorization: `Bearer ${token}` } })
    ws.binaryType = 'nodebuffer'
    this.ws = ws
    ws.on('open', () => {
      this.startHeartbeat(ws)
      for (const member of [...this.members]) if (this.ws === ws) member.opened(token)
    })
    ws.on('pong', () => { this.awaitingPong = false })
    ws.on('message', (data: Buffer) => { if (this.ws === ws) this.onFrame(data) })
    ws.on('error', () => { /* the close that follows decides */ })
    ws.on('close', (code: number, reason: Buffer) => { if (this.ws === ws) this.onClose(code, reason.toString()) })
  }

  private onFrame(data: Buffer): void {
    // Something came back: the server is serving again, so the next outage starts from the shortest wait.
    this.backoffMs = this.options.minBackoffMs ?? 250
    let frame: MuxFrame
    try {
      frame = readMuxFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 'server')
    } catch (error) {
      if (!(error instanceof MalformedFrameError)) throw error
      this.options.log?.(`unreadable frame from ${this.options.url}; reconnecting`)
      this.ws?.terminate()
      return
    }
    if (frame.kind !== 'message' && frame.kind !== 'closed') return
    for (const member of this.members) if (member.name === frame.room) return member.receive(frame)
  }

  /** The socket went: 44xx ends every room on it (they are told, as a close of joinId -1); else retry. */
  private onClose(code: number, reason: string): void {
    this.drop()
    if (this.finished) return
    if (isFinalClose(code)) {
      const members = [...this.members]
      this.finish()
      for (const member of members) member.receive({ kind: 'closed', room: member.name, joinId: -1, code, reason })
      return
    }
    const delay = this.backoffMs * (0.75 + (this.options.random ?? Math.random)() / 2)
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 10_000)
    this.retry = setTimeout(() => { this.retry = null; this.connect() }, delay)
    this.retry.unref()
  }

  /** Forgets the socket (returned, for the caller to end) and tells every room it went. */
  private drop(): WebSocket | null {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = null
    const ws = this.ws
    if (!ws) return null
    this.ws = null
    for (const member of [...this.members]) member.socketClosed()
    return ws
  }

  /**
   * A half-open connection (a router rebooted, a NAT forgot us) looks open for many minutes:
   * ping every 15 s and start over when a pong does not come back before the next ping.
   */
  private startHeartbeat(ws: WebSocket): void {
    this.awaitingPong = false
    this.heartbeat = setInterval(() => {
      if (this.awaitingPong) { ws.terminate(); return }
      this.awaitingPong = true
      ws.ping()
    }, this.options.heartbeatMs ?? 15_000)
    this.heartbeat.unref()
  }
}
