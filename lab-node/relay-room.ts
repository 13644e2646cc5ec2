// One of the lab node's documents synced with the relay over its one multiplexed socket
// (sync-server/mux-uplink.ts), as a y-websocket provider would over a socket of its own: joins
// with sync step 1 whenever the socket opens, answers the relay's step 1 with what it lacks (what
// was written here offline), sends local changes live, and keeps the relay's refusals. A room the
// relay closes with 44xx stops for good; with 45xx it joins again after a backoff, alone.
import * as Y from 'yjs'
import { isFinalClose } from '../shared/errors.ts'
import { joinFrame, messageFrame } from '../shared/mux-frames.ts'
import { permissionDeniedReason, readMessage, step1Message, step2Message, updateMessage } from '../shared/sync-protocol.ts'
import type { MuxUplink, UplinkFrame, UplinkMember } from '../sync-server/mux-uplink.ts'

export interface RelayRoomListeners {
  /** The room synced (true: the relay's step 2 arrived after joining) or stopped being synced (false). */
  sync: (synced: boolean) => void
  /** Joined or not joined any more. */
  status: (joined: boolean) => void
  /** The relay closed the room for good (44xx); the room stopped. */
  closed: (event: { code: number; reason: string }) => void
  /** The relay refused a write (a y-websocket permission-denied message), in its words. */
  refused: (reason: string) => void
}

type Listeners = { [K in keyof RelayRoomListeners]: Set<RelayRoomListeners[K]> }

/** Joins on every socket get their own number, so a close meant for an earlier join is told apart. */
let joins = 0

export class RelayRoom implements UplinkMember {
  joined = false
  synced = false
  closedWith: { code: number; reason: string } | null = null
  private joinId = -1
  private started = false
  private refusedJoins = 0
  private rejoin: NodeJS.Timeout | null = null
  /** For each step 1 sent on this join, in order: who waits for its answer (null: the join's own). */
  private probes: Array<((answered: boolean) => void) | null> = []
  private readonly listeners: Listeners = { sync: new Set(), status: new Set(), closed: new Set(), refused: new Set() }
  private readonly onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin !== this && this.joined) this.uplink.send(this, messageFrame(this.name, updateMessage(update)))
  }

  constructor(readonly name: string, readonly doc: Y.Doc, private readonly uplink: MuxUplink, private readonly maxBackoffMs = 5_000) {}

  on<K extends keyof RelayRoomListeners>(event: K, listener: RelayRoomListeners[K]): () => void {
    const set = this.listeners[event] as Set<RelayRoomListeners[K]>
    set.add(listener)
    return () => set.delete(listener)
  }

  start(): void {
    if (this.started || this.closedWith) return
    this.started = true
    this.doc.on('update', this.onUpdate)
    this.uplink.attach(this)
  }

  stop(): void {
    if (!this.started) return
    this.started = false
    this.doc.off('update', this.onUpdate)
    if (this.rejoin) clearTimeout(this.rejoin)
    this.rejoin = null
    this.uplink.detach(this)
    this.notJoined()
  }

  /**
   * Sends a step 1 on the current join: resolves true once its answer (a step 2, sent by the relay
   * only when everything it received before is durable) has been applied here, false when the
   * room is not joined or stops being joined first.
   */
  probe(): Promise<boolean> {
    if (!this.joined) return Promise.resolve(false)
    return new Promise((resolve) => {
      this.probes.push(resolve)
      this.uplink.send(this, messageFrame(this.name, step1Message(this.doc)))
    })
  }

  opened(): void {
    if (!this.started) return
    this.joinId = ++joins
    this.joined = true
    this.probes = [null]
    this.uplink.send(this, joinFrame(this.name, this.joinId))
    this.uplink.send(this, messageFrame(this.name, step1Message(this.doc)))
    this.emit('status', true)
  }

  socketClosed(): void {
    if (this.rejoin) clearTimeout(this.rejoin)
    this.rejoin = null
    this.notJoined()
  }

  receive(frame: UplinkFrame): void {
    if (frame.kind === 'closed') return this.closedByRelay(frame)
    if (!this.joined) return
    const message = readMessage(frame.body)
    switch (message.kind) {
      case 'sync-step1':
        // The relay's state vector: what was written here while apart goes up now.
        return this.uplink.send(this, messageFrame(this.name, step2Message(this.doc, message.stateVector)))
      case 'sync-step2':
        Y.applyUpdate(this.doc, message.update, this)
        this.probes.shift()?.(true)
        if (!this.synced) {
          this.synced = true
          this.refusedJoins = 0
          this.emit('sync', true)
        }
        return
      case 'sync-update':
        return Y.applyUpdate(this.doc, message.update, this)
      case 'auth': {
        const reason = permissionDeniedReason(message.payload)
        if (reason !== null) this.emit('refused', reason)
        return
      }
      default:
        return // awareness: the lab shows none
    }
  }

  /** A close of this join (or of the whole socket, joinId -1): 44xx stops the room, 45xx joins again later. */
  private closedByRelay(frame: { joinId: number; code: number; reason: string }): void {
    if (frame.joinId !== -1 && frame.joinId !== this.joinId) return // the close of an earlier join
    this.notJoined()
    if (isFinalClose(frame.code)) {
      this.closedWith = { code: frame.code, reason: frame.reason }
      this.stop()
      this.emit('closed', this.closedWith)
      return
    }
    if (frame.joinId === -1) return // the socket itself went; the next opened() joins again
    const wait = Math.min(2 ** ++this.refusedJoins * 100, this.maxBackoffMs)
    this.rejoin = setTimeout(() => {
      this.rejoin = null
      if (this.started && this.uplink.isOpen(this)) this.opened()
    }, wait)
    this.rejoin.unref()
  }

  private notJoined(): void {
    const wasJoined = this.joined
    const wasSynced = this.synced
    this.joined = false
    this.synced = false
    for (const waiter of this.probes.splice(0)) waiter?.(false)
    if (wasSynced) this.emit('sync', false)
    if (wasJoined) this.emit('status', false)
  }

  private emit<K extends keyof RelayRoomListeners>(event: K, ...args: Parameters<RelayRoomListeners[K]>): void {
    for (const listener of [...this.listeners[event]]) (listener as (...a: Parameters<RelayRoomListeners[K]>) => void)(...args)
  }
}
