// One document passed on between the lab node's in-store copy and the relay, as its customer
// (or, for the catalog, as the lab). It speaks the y-websocket protocol itself rather than
// through a stock provider because it needs to know one thing a provider does not say: that
// the relay has stored what was sent. The relay answers a sync step 1 only after every write it
// received before is durable (an echo means durable), so a step 1 sent after our changes is a
// probe: its answer proves they are stored at the relay, and only then is the link clean.
//
// While the relay is out of reach the link retries with backoff; on every (re)connection the
// two sides exchange state vectors and send each other exactly what the other lacks, deletions
// included, so a link cut at any moment loses nothing and duplicates nothing (Yjs updates are
// idempotent). Refusals by the relay (44xx: token signed out or expired, not this customer's
// document) end the link; the local copy stays as it is.
import * as Y from 'yjs'
import WebSocket from 'ws'
import type { Room as RoomName } from '../../shared/schema.ts'
import type { Principal } from '../../shared/rights.ts'
import { isFinalClose, type CloseEvent } from '../../shared/errors.ts'
import type { Peer, Room } from '../../sync-server/room.ts'
import { permissionDeniedReason, readMessage, step1Message, step2Message, updateMessage } from '../../shared/sync-protocol.ts'
import type { Rooms } from '../../sync-server/rooms.ts'

export interface UpstreamOptions {
  /** ws:// or wss:// base of the relay's sync endpoint, e.g. ws://relay:8080/sync */
  syncUrl: string
  room: RoomName
  /** Who the link speaks as at the relay, and who it stands for among the local room's peers. */
  principal: Principal
  token: () => string | null
  rooms: Rooms
  log: (line: string) => void
  /** Every local change the relay may not have yet (true), and when it has stored them all (false). */
  onDirty?: (dirty: boolean) => void
  /** The link (re)connected and the relay has what the in-store copy had. */
  onConnected?: () => void
  /** The relay refused the link for good: 44xx close code and reason. */
  onRefused?: (event: CloseEvent, token: string) => void
  minBackoffMs?: number
  maxBackoffMs?: number
}

const PROBE_DELAY_MS = 50

export class UpstreamLink {
  private room: Room | null = null
  private socket: WebSocket | null = null
  private stopped = false
  private backoffMs: number
  private reconnectTimer: NodeJS.Timeout | null = null
  private probeTimer: NodeJS.Timeout | null = null
  /** Local changes counted; `stored` is how many of them the relay has acknowledged as durable. */
  private changes = 0
  private stored = 0
  /** For each step 1 sent on this socket, in order: the change count its answer proves stored (-1: none). */
  private probes: number[] = []
  /** Set while the link writes the relay's changes into the local copy, so they are not sent back. */
  private applying = false
  private connectedOnce = false
  /** Set once the full diff went out on this socket: from then on every local change goes out live. */
  private initialSent = false
  private waitingForToken = false
  private heartbeat: NodeJS.Timeout | null = null
  private awaitingPong = false
  /** Refusals (permission-denied) from the relay since the last probe was answered. */
  private refusedSinceProbe: string | null = null
  private readonly peer: Peer

  constructor(private readonly options: UpstreamOptions) {
    this.backoffMs = options.minBackoffMs ?? 250
    const link = this
    // The link is a peer of the local room: that keeps the document loaded while the link lives,
    // and tells the link when the room is dropped. What the room sends its peers is not needed:
    // local changes are taken from the document's own update events.
    this.peer = {
      principal: options.principal,
      awarenessIds: new Set<number>(),
      send() {},
      close() { link.onRoomDropped() },
    }
  }

  /** The customer the link speaks as (null for the lab's own catalog link). */
  get user(): string | null {
    return this.options.principal.kind === 'user' ? this.options.principal.userId : null
  }

  get dirty(): boolean {
    return this.changes > this.stored
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN
  }

  async start(): Promise<void> {
    await this.attach()
    this.connect()
  }

  /** Counts as local change everything already in the copy that the relay may lack (after a restart). */
  markDirty(): void {
    this.changes++
    this.options.onDirty?.(true)
    this.scheduleProbe()
  }

  /** A new token may have arrived (the customer connected again): try now instead of at the next retry. */
  nudge(): void {
    if (this.stopped || this.socket !== null || !this.reconnectTimer) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.backoffMs = this.options.minBackoffMs ?? 250
    this.connect()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.probeTimer) clearTimeout(this.probeTimer)
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.socket?.terminate()
    this.detach()
  }

  /**
   * Holds the local room for the link's life (until stop or the room fails), like a socket does:
   * not a borrow, which would release it when a callback returns.
   */
  private async attach(): Promise<void> {
    const room = await this.options.rooms.get(this.options.room)
    if (this.stopped) { this.options.rooms.released(room); return }
    this.room = room
    room.join(this.peer)
    room.doc.on('update', this.onLocalUpdate)
  }

  private detach(): void {
    const room = this.room
    if (!room) return
    this.room = null
    room.doc.off('update', this.onLocalUpdate)
    room.leave(this.peer)
    this.options.rooms.released(room)
  }

  /** The local room failed to store a write and was dropped: take the reloaded one. */
  private onRoomDropped(): void {
    if (this.stopped) return
    const room = this.room
    if (room) room.doc.off('update', this.onLocalUpdate)
    this.room = null
    setTimeout(() => {
      if (this.stopped) return
      this.attach().then(() => { this.socket?.terminate() }, (error: Error) => this.options.log(`lan: reloading ${this.options.room.name} failed: ${error.message}`))
    }, 1_000).unref()
  }

  private readonly onLocalUpdate = (update: Uint8Array): void => {
    if (this.applying) return
    this.changes++
    if (this.changes === this.stored + 1) this.options.onDirty?.(true)
    if (this.connected && this.initialSent) {
      this.socket!.send(updateMessage(update))
      this.scheduleProbe()
    }
  }

  private connect(): void {
    if (this.stopped) return
    const token = this.options.token()
    if (!token) {
      if (!this.waitingForToken) this.options.log(`lan: no valid token to pass ${this.options.room.name} on to the relay; waiting for the customer to connect again`)
      this.waitingForToken = true
      if (!this.reconnectTimer) this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; this.connect() }, 30_000)
      this.reconnectTimer.unref()
      return
    }
    this.waitingForToken = false
    // The token goes in a header, not the URL: URLs end up in error messages and logs.
    const url = `${this.options.syncUrl}/${encodeURIComponent(this.options.room.name)}`
    let socket: WebSocket
    try {
      socket = new WebSocket(url, { handshakeTimeout: 10_000, maxPayload: 64 * 1024 * 1024, headers: { authorization: `Bearer ${token}` } })
    } catch (error) {
      this.options.log(`lan: cannot open a link for ${this.options.room.name}: ${(error as Error).message}`)
      this.retryLater()
      return
    }
    socket.binaryType = 'nodebuffer'
    this.socket = socket
    this.probes = []
    this.initialSent = false
    socket.on('open', () => {
      this.backoffMs = this.options.minBackoffMs ?? 250
      this.startHeartbeat(socket)
      if (!this.room) return
      this.sendStep1(-1)
    })
    socket.on('pong', () => { this.awaitingPong = false })
    socket.on('message', (data: Buffer) => this.onMessage(socket, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)))
    socket.on('error', () => { /* the close that follows decides */ })
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.socket === socket) this.socket = null
      if (this.probeTimer) { clearTimeout(this.probeTimer); this.probeTimer = null }
      if (this.heartbeat) { clearInterval(this.heartbeat); this.heartbeat = null }
      if (this.stopped) return
      if (isFinalClose(code)) {
        const event = { code, reason: reason.toString() }
        this.options.log(`lan: the relay refused ${this.options.room.name} (${code} ${event.reason}); the in-store copy is kept but no longer passed on`)
        this.stopped = true
        this.detach()
        this.options.onRefused?.(event, token)
        return
      }
      this.retryLater()
    })
  }

  private retryLater(): void {
    if (this.stopped || this.reconnectTimer) return
    const delay = this.backoffMs * (0.75 + Math.random() / 2)
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 10_000)
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; this.connect() }, delay)
    this.reconnectTimer.unref()
  }

  private onMessage(socket: WebSocket, frame: Uint8Array): void {
    if (socket !== this.socket || !this.room) return
    try {
      const message = readMessage(frame)
      switch (message.kind) {
        case 'auth': {
          const reason = permissionDeniedReason(message.payload)
          if (reason === null) return
          this.refusedSinceProbe = reason
          this.options.log(`lan: the relay did not take a change to ${this.options.room.name}: ${reason}`)
          return
        }
        case 'sync-step1':
          // The relay's state vector: send everything it lacks, then probe for its durability.
          socket.send(step2Message(this.room.doc, message.stateVector))
          this.initialSent = true
          if (!this.connectedOnce) { this.connectedOnce = true; this.options.log(`lan: ${this.options.room.name} linked to the relay`) }
          this.sendStep1(this.changes)
          this.options.onConnected?.()
          return
        case 'sync-update': // the relay's (or our echoed) changes
          this.applyFromRelay(message.update)
          return
        case 'sync-step2': // the answer to our oldest outstanding step 1
          this.applyFromRelay(message.update)
          this.probeAnswered()
          return
        default:
          return // awareness stays in the store
      }
    } catch (error) {
      this.options.log(`lan: unreadable message from the relay for ${this.options.room.name}: ${(error as Error).message}`)
      socket.terminate()
    }
  }

  private probeAnswered(): void {
    const proves = this.probes.shift() ?? -1
    if (proves <= this.stored) return
    // Stored at the relay, or refused by it: either way sending it again changes nothing.
    if (this.refusedSinceProbe !== null) this.options.log(`lan: part of ${this.options.room.name} stays only in the store copy: the relay refused it (${this.refusedSinceProbe})`)
    this.refusedSinceProbe = null
    this.stored = Math.min(proves, this.changes)
    if (!this.dirty) this.options.onDirty?.(false)
  }

  private applyFromRelay(update: Uint8Array): void {
    if (update.length === 2 && update[0] === 0 && update[1] === 0) return
    this.applying = true
    try {
      // Stored in the local copy like the relay's own writes there (receipts, progress), then sent to the store's terminals.
      void this.room!.writeAsRelay((doc) => Y.applyUpdate(doc, update)).catch(() => { /* the room failed; onRoomDropped re-attaches */ })
    } finally {
      this.applying = false
    }
  }

  private sendStep1(proves: number): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || !this.room) return
    this.probes.push(proves)
    this.socket.send(step1Message(this.room.doc))
  }

  /**
   * A half-open connection (a router rebooted, a NAT forgot us) looks open for many minutes:
   * ping every 15 s and start over when a pong does not come back before the next ping.
   */
  private startHeartbeat(socket: WebSocket): void {
    this.awaitingPong = false
    this.heartbeat = setInterval(() => {
      if (this.awaitingPong) { socket.terminate(); return }
      this.awaitingPong = true
      socket.ping()
    }, 15_000)
    this.heartbeat.unref()
  }

  private scheduleProbe(): void {
    if (this.probeTimer || !this.connected) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      this.sendStep1(this.changes)
    }, PROBE_DELAY_MS)
    this.probeTimer.unref()
  }
}
