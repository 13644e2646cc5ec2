// One document passed on between the lab node's in-store copy and the relay, as its customer
// (or, for the catalog, as the lab), as one room on that identity's multiplexed socket
// (sync-server/mux-uplink.ts). It speaks the y-websocket protocol itself rather than through a
// provider because it needs to know one thing a provider does not say: that the relay has stored
// what was sent. The relay answers a sync step 1 only after every write it received before is
// durable (an echo means durable), so a step 1 sent after our changes is a probe: its answer
// proves they are stored at the relay, and only then is the link clean.
//
// While the relay is out of reach the uplink retries with backoff; on every (re)join the two
// sides exchange state vectors and send each other exactly what the other lacks, deletions
// included, so a link cut at any moment loses nothing and duplicates nothing (Yjs updates are
// idempotent). Refusals by the relay (44xx: token signed out or expired, not this customer's
// document) end the link; the local copy stays as it is.
import * as Y from 'yjs'
import type { Room as RoomName } from '../../shared/schema.ts'
import type { Principal } from '../../shared/rights.ts'
import { isFinalClose, type CloseEvent } from '../../shared/errors.ts'
import type { Peer, Room } from '../../sync-server/room.ts'
import { permissionDeniedReason, readMessage, step1Message, step2Message, updateMessage } from '../../shared/sync-protocol.ts'
import { joinFrame, messageFrame } from '../../shared/mux-frames.ts'
import type { MuxUplink, UplinkFrame, UplinkMember } from '../../sync-server/mux-uplink.ts'
import type { Rooms } from '../../sync-server/rooms.ts'

export interface UpstreamOptions {
  /** The multiplexed socket(s) of the identity the link speaks as (one per customer, one for the lab). */
  uplink: MuxUplink
  room: RoomName
  /** Who the link speaks as at the relay, and who it stands for among the local room's peers. */
  principal: Principal
  rooms: Rooms
  log: (line: string) => void
  /** Every local change the relay may not have yet (true), and when it has stored them all (false). */
  onDirty?: (dirty: boolean) => void
  /** The link (re)connected and the relay has what the in-store copy had. */
  onConnected?: () => void
  /** The relay refused some of what was passed on (the rest is stored); called once that is settled. */
  onWriteRefused?: () => void
  /** The relay refused the link for good: 44xx close code and reason. */
  onRefused?: (event: CloseEvent, token: string) => void
  /** Longest wait before joining again after the relay closed the room with "retry later". */
  maxBackoffMs?: number
}

const PROBE_DELAY_MS = 50

/** Joins on every socket get their own number, so a close meant for an earlier join is told apart. */
let joins = 0

export class UpstreamLink implements UplinkMember {
  readonly name: string
  private room: Room | null = null
  private stopped = false
  private joined = false
  private joinId = -1
  /** The token the current join was made with: what a refusal refers to. */
  private token = ''
  private refusedJoins = 0
  private rejoinTimer: NodeJS.Timeout | null = null
  private probeTimer: NodeJS.Timeout | null = null
  /** Local changes counted; `stored` is how many of them the relay has acknowledged as durable. */
  private changes = 0
  private stored = 0
  /** For each step 1 sent on this join, in order: the change count its answer proves stored (-1: none). */
  private probes: number[] = []
  /** Set while the link writes the relay's changes into the local copy, so they are not sent back. */
  private applying = false
  private connectedOnce = false
  /** Set once the full diff went out on this join: from then on every local change goes out live. */
  private initialSent = false
  /** Refusals (permission-denied) from the relay since the last probe was answered. */
  private refusedSinceProbe: string | null = null
  private readonly peer: Peer

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.room.name
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
    return this.joined
  }

  async start(): Promise<void> {
    await this.attach()
    if (!this.stopped) this.options.uplink.attach(this)
  }

  /** Counts as local change everything already in the copy that the relay may lack (after a restart). */
  markDirty(): void {
    this.changes++
    this.options.onDirty?.(true)
    this.scheduleProbe()
  }

  /** A new token may have arrived (the customer connected again): try now instead of at the next retry. */
  nudge(): void {
    if (!this.stopped) this.options.uplink.reconnectNow()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.notJoined()
    this.options.uplink.detach(this)
    this.detach()
  }

  opened(token: string): void {
    if (this.stopped || !this.room) return
    this.token = token
    this.joinId = ++joins
    this.joined = true
    this.probes = []
    this.initialSent = false
    this.send(joinFrame(this.name, this.joinId))
    this.sendStep1(-1)
  }

  socketClosed(): void {
    this.notJoined()
  }

  receive(frame: UplinkFrame): void {
    if (frame.kind === 'closed') return this.closedByRelay(frame)
    if (!this.joined || !this.room) return
    try {
      this.onMessage(frame.body)
    } catch (error) {
      this.options.log(`lan: unreadable message from the relay for ${this.name}: ${(error as Error).message}`)
      this.rejoin()
    }
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

  /** The local room failed to store a write and was dropped: take the reloaded one, and join again to resync. */
  private onRoomDropped(): void {
    if (this.stopped) return
    const room = this.room
    if (room) room.doc.off('update', this.onLocalUpdate)
    this.room = null
    setTimeout(() => {
      if (this.stopped) return
      this.attach().then(() => this.rejoin(), (error: Error) => this.options.log(`lan: reloading ${this.name} failed: ${error.message}`))
    }, 1_000).unref()
  }

  /** Leaves the room at the relay and joins it again on the same socket: a fresh exchange of state vectors. */
  private rejoin(): void {
    if (this.stopped) return
    this.notJoined()
    this.options.uplink.detach(this)
    this.options.uplink.attach(this)
  }

  private readonly onLocalUpdate = (update: Uint8Array): void => {
    if (this.applying) return
    this.changes++
    if (this.changes === this.stored + 1) this.options.onDirty?.(true)
    if (this.joined && this.initialSent) {
      this.send(messageFrame(this.name, updateMessage(update)))
      this.scheduleProbe()
    }
  }

  /** A close of this join (or of the whole socket, joinId -1): 44xx ends the link, 45xx joins again later. */
  private closedByRelay(frame: { joinId: number; code: number; reason: string }): void {
    if (this.stopped || (frame.joinId !== -1 && frame.joinId !== this.joinId)) return
    this.notJoined()
    if (isFinalClose(frame.code)) {
      const event: CloseEvent = { code: frame.code, reason: frame.reason }
      this.options.log(`lan: the relay refused ${this.name} (${event.code} ${event.reason}); the in-store copy is kept but no longer passed on`)
      this.stop()
      this.options.onRefused?.(event, this.token)
      return
    }
    if (frame.joinId === -1) return // the socket itself went: the uplink opens another and the link joins then
    const wait = Math.min(2 ** ++this.refusedJoins * 250, this.options.maxBackoffMs ?? 10_000)
    this.rejoinTimer = setTimeout(() => { this.rejoinTimer = null; this.rejoin() }, wait * (0.75 + Math.random() / 2))
    this.rejoinTimer.unref()
  }

  private notJoined(): void {
    this.joined = false
    if (this.probeTimer) { clearTimeout(this.probeTimer); this.probeTimer = null }
    if (this.rejoinTimer) { clearTimeout(this.rejoinTimer); this.rejoinTimer = null }
  }

  private onMessage(body: Uint8Array): void {
    const message = readMessage(body)
    switch (message.kind) {
      case 'auth': {
        const reason = permissionDeniedReason(message.payload)
        if (reason === null) return
        this.refusedSinceProbe = reason
        this.options.log(`lan: the relay did not take a change to ${this.name}: ${reason}`)
        return
      }
      case 'sync-step1':
        // The relay's state vector: send everything it lacks, then probe for its durability.
        this.send(messageFrame(this.name, step2Message(this.room!.doc, message.stateVector)))
        this.initialSent = true
        if (!this.connectedOnce) { this.connectedOnce = true; this.options.log(`lan: ${this.name} linked to the relay`) }
        this.sendStep1(this.changes)
        this.options.onConnected?.()
        return
      case 'sync-update': // the relay's (or our echoed) changes
        this.applyFromRelay(message.update)
        return
      case 'sync-step2': // the answer to our oldest outstanding step 1
        this.refusedJoins = 0
        this.applyFromRelay(message.update)
        this.probeAnswered()
        return
      default:
        return // awareness stays in the store
    }
  }

  private probeAnswered(): void {
    const proves = this.probes.shift() ?? -1
    if (proves <= this.stored) return
    // Stored at the relay, or refused by it: either way sending it again changes nothing.
    const refused = this.refusedSinceProbe
    if (refused !== null) this.options.log(`lan: part of ${this.name} stays only in the store copy: the relay refused it (${refused})`)
    this.refusedSinceProbe = null
    this.stored = Math.min(proves, this.changes)
    if (!this.dirty) this.options.onDirty?.(false)
    if (refused !== null) this.options.onWriteRefused?.()
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

  private send(frame: Uint8Array): void {
    this.options.uplink.send(this, frame)
  }

  private sendStep1(proves: number): void {
    if (!this.joined || !this.room) return
    this.probes.push(proves)
    this.send(messageFrame(this.name, step1Message(this.room.doc)))
  }

  private scheduleProbe(): void {
    if (this.probeTimer || !this.joined) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      this.sendStep1(this.changes)
    }, PROBE_DELAY_MS)
    this.probeTimer.unref()
  }
}
