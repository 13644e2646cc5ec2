// Fan-out between relays that share one DocStore: the interface every room uses to hear of updates
// other relays stored, and the in-process implementation (one relay: nothing to tell anyone).

/** Stops one subscription. */
export type Unsubscribe = () => void

/**
 * Tells other relays about updates this one stored, and this one about theirs. A hint, never the
 * authority: the shared DocStore is. A message may be lost (Redis restarted, a subscriber's link
 * cut); every such loss is announced through onGap, after which a room re-reads the store.
 * Nothing is ever delivered back to the relay that sent it.
 */
export interface Fanout {
  /**
   * Sends `update` of `room` to every other relay subscribed to it. Call it only once the DocStore
   * acknowledged the update (what a peer of another relay sees must be durable). Never throws: a
   * publish that fails is announced to the others as a gap of `room` once the link is back.
   */
  publish(room: string, update: Uint8Array): void
  /**
   * Delivers the updates other relays publish for `room` from now on. Resolves once subscribed:
   * any update another relay stores after that reaches `onUpdate`, or is announced by onGap (a
   * relay may publish nothing while no other has the room, and then tells a newcomer to re-read).
   * Subscribe before loading the room from the store, so nothing falls between the load and the
   * subscription.
   */
  subscribe(room: string, onUpdate: (update: Uint8Array) => void, onAwareness?: (update: Uint8Array | null) => void): Promise<Unsubscribe>
  /**
   * Sends an awareness update of `room` (who is on it, their cursors: y-protocols' encoding) to
   * every other relay subscribed to it, for their clients of the room: with round-robin routing
   * (`/sync-mux` always) two clients of one document may be on different relays. Presence, not
   * data: never stored, and lost with a cut link; clients renew their state every 15 s, and a
   * state not renewed for 30 s times out on every relay. `onAwareness` receives it.
   */
  publishAwareness(room: string, update: Uint8Array): void
  /** Asks the other relays subscribed to `room` for the presence they hold: `onAwareness(null)` there. */
  askAwareness(room: string): void
  /**
   * `callback(null)` when updates of any room may have been missed (the link to Redis was cut and
   * is back, subscriptions restored; or another relay died, maybe between a commit and its
   * publish); `callback(room)` when another relay could not publish one of
   * `room`'s, or left some unpublished while no other relay had the room. Either way the
   * subscriptions hold again when it is called: re-read from the store.
   */
  onGap(callback: (room: string | null) => void): void
  /** Sends `message` on `channel` (sign-outs, lab-key changes) to every other relay listening. */
  broadcast(channel: string, message: string): void
  /** Delivers the messages other relays broadcast on `channel`; resolves once listening. */
  on(channel: string, callback: (message: string) => void): Promise<Unsubscribe>
  /** Ends every subscription and connection. */
  close(): Promise<void>
}

/**
 * Relays in one process (tests, or a lab node and a relay side by side) meet here; a LocalFanout
 * without a hub of its own is alone in one, which is what one relay needs: nobody to tell.
 */
export class LocalHub {
  readonly members = new Set<LocalFanout>()
}

type Listener = (payload: Uint8Array | string) => void

/** Fan-out within one process: delivered on a later turn, as a network would, never lost. */
export class LocalFanout implements Fanout {
  private readonly listeners = new Map<string, Set<Listener>>()

  constructor(private readonly hub: LocalHub = new LocalHub()) {
    hub.members.add(this)
  }

  publish(room: string, update: Uint8Array): void {
    this.send(`doc:${room}`, update.slice())
  }

  subscribe(room: string, onUpdate: (update: Uint8Array) => void, onAwareness?: (update: Uint8Array | null) => void): Promise<Unsubscribe> {
    const stops = [this.listen(`doc:${room}`, onUpdate as Listener)]
    if (onAwareness) {
      stops.push(this.listen(`awareness:${room}`, onAwareness as Listener))
      stops.push(this.listen(`ask-awareness:${room}`, () => onAwareness(null)))
    }
    return Promise.resolve(() => { for (const stop of stops) stop() })
  }

  publishAwareness(room: string, update: Uint8Array): void {
    this.send(`awareness:${room}`, update.slice())
  }

  askAwareness(room: string): void {
    this.send(`ask-awareness:${room}`, '')
  }

  onGap(): void {
    // Nothing is ever lost in one process.
  }

  broadcast(channel: string, message: string): void {
    this.send(`bc:${channel}`, message)
  }

  on(channel: string, callback: (message: string) => void): Promise<Unsubscribe> {
    return Promise.resolve(this.listen(`bc:${channel}`, callback as Listener))
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.hub.members.delete(this)
  }

  private send(key: string, payload: Uint8Array | string): void {
    for (const member of this.hub.members) {
      if (member === this) continue
      for (const listener of member.listeners.get(key) ?? []) setImmediate(() => listener(payload))
    }
  }

  private listen(key: string, listener: Listener): Unsubscribe {
    let set = this.listeners.get(key)
    if (!set) this.listeners.set(key, set = new Set())
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key)
    }
  }
}
