// The registry of loaded rooms: loads each document once however many sockets ask at the same
// time, hands out rooms only once loaded, and unloads rooms that have been idle a while. With a
// fan-out, each room is subscribed before it loads and re-read after every gap.
import type { Room as RoomName } from '../shared/schema.ts'
import { Close } from '../shared/errors.ts'
import { Room, type RoomOptions } from './room.ts'
import type { Unsubscribe } from './fanout/fanout.ts'

export interface RoomsOptions extends RoomOptions {
  /** Unload a room this long after its last peer left and its last write was stored. */
  idleUnloadMs: number
}

/** Re-reads after a gap that run at once (each a load from the store and the onReread hook). */
const REREADS_AT_ONCE = 8

export class Rooms {
  private readonly loaded = new Map<string, Room>()
  private readonly loading = new Map<string, Promise<Room>>()
  private readonly unloadTimers = new Map<string, NodeJS.Timeout>()
  private closed = false
  /** Fan-out subscriptions, kept from before a room loads until it unloads. */
  private readonly subscriptions = new Map<string, Unsubscribe>()
  /** Updates other relays published while their room was loading, applied once it has. */
  private readonly inbox = new Map<string, Uint8Array[]>()
  /** Rooms waiting to be re-read, being re-read, and to be re-read again once their read ends (see reread). */
  private readonly rereadQueue = new Set<Room>()
  private readonly rereading = new Set<Room>()
  private readonly rereadAgain = new Set<Room>()
  /** Gaps of every room in the fan-out so far: a room whose load spanned one is re-read. */
  private gaps = 0
  /** Loading rooms another relay asked to re-read (a gap of that room alone): re-read once loaded. */
  private readonly resyncs = new Set<string>()

  constructor(private readonly options: RoomsOptions) {
    options.fanout?.onGap((room) => this.catchUp(room))
  }

  /** The loaded room; loads it first if needed. Rejects (and remembers nothing) when loading fails. */
  get(name: RoomName): Promise<Room> {
    if (this.closed) return Promise.reject(new Error('the server is shutting down'))
    const room = this.loaded.get(name.name)
    if (room && !room.isFailed) {
      this.cancelUnload(name.name)
      return Promise.resolve(room)
    }
    if (room) {
      // A failed room is reloaded from what is stored. Destroyed, or its awareness timer would
      // keep the process alive after everything else has closed.
      this.loaded.delete(name.name)
      room.destroy()
    }
    let pending = this.loading.get(name.name)
    if (!pending) {
      pending = this.load(name).then(
        (loadedRoom) => {
          this.loading.delete(name.name)
          return loadedRoom
        },
        (error: Error) => {
          this.loading.delete(name.name)
          throw error
        },
      )
      this.loading.set(name.name, pending)
    }
    return pending
  }

  /**
   * Runs `use` with the loaded room and releases it afterwards, whatever `use` does: code that
   * reads or writes a room for a moment (intake, reports, the admin) borrows it this way.
   */
  async borrow<T>(name: RoomName, use: (room: Room) => T | Promise<T>): Promise<T> {
    const room = await this.get(name)
    try {
      return await use(room)
    } finally {
      this.released(room)
    }
  }

  /** Called when a peer leaves: schedules the unload once the room is idle. */
  released(room: Room): void {
    if (!room.idle && room.peers.size > 0) return
    this.cancelUnload(room.name.name)
    const timer = setTimeout(() => this.tryUnload(room), this.options.idleUnloadMs)
    timer.unref()
    this.unloadTimers.set(room.name.name, timer)
  }

  get size(): number {
    return this.loaded.size
  }

  /** Closes every socket with "retry later" and waits for pending writes. */
  async close(): Promise<void> {
    this.closed = true
    for (const timer of this.unloadTimers.values()) clearTimeout(timer)
    for (const room of this.loaded.values()) for (const peer of [...room.peers]) peer.close(Close.ShuttingDown)
    await Promise.allSettled([...this.loaded.values()].map((room) => room.whenDurable()))
    await this.options.store.flush()
    for (const room of this.loaded.values()) room.destroy()
    this.loaded.clear()
    for (const name of [...this.subscriptions.keys()]) this.unsubscribe(name)
  }

  /**
   * Subscribes (when there is a fan-out), then loads: an update stored after the load read the
   * store is published after the subscription, so it reaches the inbox. Until the room is in
   * `loaded` (set here, in the same turn it is filled) updates wait in the inbox.
   */
  private async load(name: RoomName): Promise<Room> {
    const fanout = this.options.fanout
    const gapsBefore = this.gaps
    const inbox: Uint8Array[] = []
    this.inbox.set(name.name, inbox)
    this.resyncs.delete(name.name)
    try {
      if (fanout && !this.subscriptions.has(name.name)) {
        this.subscriptions.set(name.name, await fanout.subscribe(name.name, (update) => this.deliver(name.name, update), (update) => this.deliverAwareness(name.name, update)))
      }
      const room = await Room.load(name, this.options)
      if (this.closed) {
        // Loaded while the server was closing: close() has already destroyed the others.
        room.destroy()
        throw new Error('the server is shutting down')
      }
      room.applyStored(inbox)
      this.loaded.set(name.name, room)
      if (this.resyncs.delete(name.name) || this.gaps !== gapsBefore) this.reread(room)
      // Presence published while it loaded was not kept: ask the relays that have it for theirs.
      if (fanout && name.kind !== 'catalog') fanout.askAwareness(name.name)
      return room
    } catch (error) {
      this.unsubscribe(name.name)
      throw error
    } finally {
      this.inbox.delete(name.name)
      this.resyncs.delete(name.name)
    }
  }

  /** An update another relay stored: to the loaded room, or its inbox while it loads. */
  private deliver(name: string, update: Uint8Array): void {
    const inbox = this.inbox.get(name)
    if (inbox) return void inbox.push(update)
    const room = this.loaded.get(name)
    if (!room || room.isFailed) return
    try {
      room.applyStored([update])
    } catch (error) {
      // Bytes Yjs cannot read (not from a relay of ours?): the store is the authority, read it.
      console.error(`relay: ${name}: an update from another relay could not be applied (${(error as Error).message}); re-reading it`)
      void room.catchUp()
    }
  }

  /** Presence from another relay (null: it loaded the room and asks for ours), to the loaded room; none while loading. */
  private deliverAwareness(name: string, update: Uint8Array | null): void {
    const room = this.loaded.get(name)
    if (!room || room.isFailed) return
    if (update === null) return room.shareAwareness()
    try {
      room.applyRemoteAwareness(update)
    } catch (error) {
      console.error(`relay: ${name}: presence from another relay could not be read (${(error as Error).message})`)
    }
  }

  /** After a gap (of `name`, or of every room when null), rooms re-read the store (loading ones once loaded). */
  private catchUp(name: string | null): void {
    if (name !== null) {
      if (this.inbox.has(name)) this.resyncs.add(name)
      const room = this.loaded.get(name)
      if (room && !room.isFailed) this.reread(room)
      return
    }
    this.gaps++
    for (const room of this.loaded.values()) if (!room.isFailed) this.reread(room)
  }

  /**
   * Re-reads a loaded room from the store, then runs the onReread hook (unless it failed or left
   * meanwhile). A gap of every room re-reads them all: REREADS_AT_ONCE at a time, not thousands of
   * loads and hooks on the store at once; a room asked again while its read runs reads once more after.
   */
  private reread(room: Room): void {
    if (this.rereading.has(room)) this.rereadAgain.add(room)
    else this.rereadQueue.add(room)
    this.pumpRereads()
  }

  private pumpRereads(): void {
    for (const room of this.rereadQueue) {
      if (this.rereading.size >= REREADS_AT_ONCE) return
      this.rereadQueue.delete(room)
      if (room.isFailed || this.loaded.get(room.name.name) !== room) continue // unloaded or failed meanwhile
      this.rereading.add(room)
      room.catchUp().then(() => {
        if (!room.isFailed && this.loaded.get(room.name.name) === room) this.options.hooks.onReread?.(room)
      }).catch((error: Error) => {
        console.error(`relay: ${room.name.name}: after re-reading it: ${error.message}`)
      }).finally(() => {
        this.rereading.delete(room)
        if (this.rereadAgain.delete(room)) this.rereadQueue.add(room)
        this.pumpRereads()
      })
    }
  }

  private unsubscribe(name: string): void {
    this.subscriptions.get(name)?.()
    this.subscriptions.delete(name)
  }

  private tryUnload(room: Room): void {
    this.unloadTimers.delete(room.name.name)
    if (this.loaded.get(room.name.name) !== room) return
    if (!room.idle) {
      if (room.peers.size === 0) this.released(room) // writes still pending: look again later
      return
    }
    this.loaded.delete(room.name.name)
    this.unsubscribe(room.name.name)
    room.unload()
  }

  private cancelUnload(name: string): void {
    const timer = this.unloadTimers.get(name)
    if (timer) {
      clearTimeout(timer)
      this.unloadTimers.delete(name)
    }
  }
}
