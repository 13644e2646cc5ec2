// A client of the multiplexed sync endpoint (`/sync-mux`, frames in shared/mux-frames.ts):
// one WebSocket per server and token for all of the app's documents, as Hocuspocus's
// HocuspocusProviderWebsocket, reconnecting with y-websocket's backoff. MuxRoom (mux-room.ts)
// syncs one document over it.
import { isFinalClose } from '../../../shared/errors.ts'
import { leaveFrame, messageFrame, readMuxFrame, type MuxFrame } from '../../../shared/mux-frames.ts'
import { MESSAGE_QUERY_AWARENESS } from '../../../shared/sync-protocol.ts'

export type MuxStatus = 'offline' | 'connecting' | 'connected'

/** What the connection needs of a room on it (MuxRoom). */
export interface MuxMember {
  readonly name: string
  /** The socket is open: join and send sync step 1. */
  opened(): void
  /** The socket went: the room is no longer joined (it is joined again once the socket reopens). */
  socketClosed(): void
  /** A frame from the server for this room. */
  receive(frame: Exclude<MuxFrame, { kind: 'join' | 'leave' }>): void
}

export interface MuxOptions {
  /** A WebSocket class (tests in Node pass ws's); the browser's by default. */
  WebSocketPolyfill?: typeof WebSocket
  /** Longest wait between attempts, as y-websocket's `maxBackoffTime`. */
  maxBackoffTime?: number
  /**
   * A socket that brought nothing for this long is taken for dead and opened again (y-websocket's
   * `messageReconnectTimeout`): a phone's half-open TCP connection may otherwise look open for minutes.
   */
  silenceMs?: number
}

const SILENCE_MS = 30_000

/** Waits before the `failures`-th attempt, doubling from 200 ms as y-websocket does. */
export function backoffMs(failures: number, maxBackoffTime: number): number {
  return Math.min(2 ** failures * 100, maxBackoffTime)
}

export class MuxConnection {
  status: MuxStatus = 'offline'
  private ws: WebSocket | null = null
  private readonly members = new Map<string, MuxMember>()
  /** Closed sockets since the last one a room synced on (reset by synced()). */
  private failures = 0
  private retry: ReturnType<typeof setTimeout> | null = null
  private watchdog: ReturnType<typeof setInterval> | null = null
  private lastHeard = 0
  /** Set once the server closed the socket with a 44xx: nothing is tried again. */
  finalClose: { code: number; reason: string } | null = null

  constructor(readonly url: string, private readonly token: string, readonly options: MuxOptions = {}, private readonly onEmpty: () => void = () => {}) {}

  /** Adds a room; it joins now if the socket is open, else once it opens. */
  attach(member: MuxMember): void {
    this.members.set(member.name, member)
    if (this.status === 'connected') member.opened()
    else this.connect()
  }

  /** Removes a room (telling the server it left); the socket closes with the last one. */
  detach(member: MuxMember): void {
    if (this.members.get(member.name) !== member) return
    this.members.delete(member.name)
    if (this.status === 'connected') this.send(leaveFrame(member.name))
    if (this.members.size === 0) this.close()
  }

  send(frame: Uint8Array): void {
    if (this.status === 'connected' && this.ws?.readyState === 1) this.ws.send(frame as Uint8Array<ArrayBuffer>)
  }

  /** A room synced on this socket: it did useful work, so the backoff starts again from the beginning. */
  synced(): void {
    this.failures = 0
  }

  /**
   * Tries now instead of at the end of the backoff (the device came back online). Every room asks
   * at once; an attempt already under way is left to finish.
   */
  reconnectNow(): void {
    if (this.status !== 'offline' || this.finalClose) return
    this.connect()
  }

  private connect(): void {
    if (this.ws || this.members.size === 0 || this.finalClose) return
    if (this.retry) { clearTimeout(this.retry); this.retry = null }
    const Socket = this.options.WebSocketPolyfill ?? WebSocket
    const ws = new Socket(`${this.url}?token=${encodeURIComponent(this.token)}`)
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    this.status = 'connecting'
    ws.onopen = () => {
      if (this.ws !== ws) return
      this.status = 'connected'
      this.watch()
      for (const member of [...this.members.values()]) member.opened()
    }
    ws.onmessage = (event: MessageEvent) => {
      if (this.ws !== ws) return
      this.lastHeard = Date.now()
      this.onFrame(new Uint8Array(event.data as ArrayBuffer))
    }
    ws.onerror = () => {}
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return
      this.drop()
      this.retryLater(event.code, event.reason)
    }
  }

  /** After the socket closed: stop for good on 44xx (telling every room), else try again after the backoff. */
  private retryLater(code: number, reason: string): void {
    if (isFinalClose(code)) {
      const finalClose = this.finalClose = { code, reason }
      for (const member of [...this.members.values()]) member.receive({ kind: 'closed', room: member.name, joinId: -1, ...finalClose })
      return
    }
    if (this.members.size === 0) return
    this.retry = setTimeout(() => { this.retry = null; this.connect() }, backoffMs(++this.failures, this.options.maxBackoffTime ?? 2500))
  }

  private onFrame(bytes: Uint8Array): void {
    let frame: MuxFrame
    try {
      frame = readMuxFrame(bytes, 'server')
    } catch {
      return // not a frame this client reads: the server closes with a code when it means something
    }
    if (frame.kind === 'join' || frame.kind === 'leave') return
    this.members.get(frame.room)?.receive(frame)
  }

  /**
   * While open, asks the server something every third of the silence allowed (an awareness query
   * for one of its rooms, which it always answers) and drops the socket when nothing came back.
   */
  private watch(): void {
    const silenceMs = this.options.silenceMs ?? SILENCE_MS
    this.lastHeard = Date.now()
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastHeard > silenceMs) {
        this.drop()
        this.retryLater(1006, 'silent')
        return
      }
      const asked = [...this.members.keys()].find((name) => name !== 'catalog') // the catalog answers no query
      if (asked && Date.now() - this.lastHeard > silenceMs / 3) this.send(messageFrame(asked, new Uint8Array([MESSAGE_QUERY_AWARENESS])))
    }, silenceMs / 6)
  }

  /** Forgets the socket (closing it) and tells every room. */
  private drop(): void {
    if (this.watchdog) { clearInterval(this.watchdog); this.watchdog = null }
    const ws = this.ws
    if (!ws) return
    this.ws = null
    ws.onopen = ws.onmessage = ws.onclose = null
    ws.close()
    this.status = 'offline'
    for (const member of [...this.members.values()]) member.socketClosed()
  }

  private close(): void {
    if (this.retry) { clearTimeout(this.retry); this.retry = null }
    this.drop()
    this.onEmpty()
  }
}

const shared = new Map<string, MuxConnection>()

/** The app's one connection to `url` as `token`, shared by every room; dropped with its last room. */
export function sharedConnection(url: string, token: string, options: MuxOptions = {}): MuxConnection {
  const key = `${url}\n${token}`
  let connection = shared.get(key)
  if (!connection || connection.finalClose) {
    const made: MuxConnection = new MuxConnection(url, token, options, () => { if (shared.get(key) === made) shared.delete(key) })
    connection = made
    shared.set(key, connection)
  }
  return connection
}
