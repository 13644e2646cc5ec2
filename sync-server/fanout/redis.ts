// Fan-out through Redis pub/sub (ioredis): one channel per room and per broadcast channel, one
// connection to publish and one to listen; a cut link is a gap, announced once listening again,
// and so is another relay's death (it may have stored updates it never published). A room no
// other relay has loaded (the balancer pins each document to one relay) is not published at all:
// see RoomChannel.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Fanout, Unsubscribe } from './fanout.ts'
import { RelayWatch, type RelayWatchOptions } from './relay-watch.ts'

const SENDER_BYTES = 16
const enum Kind { Update = 0, Resync = 1, Broadcast = 2, Awareness = 3, AskAwareness = 4, Hello = 5, Alive = 6, Leaving = 7 }
const EMPTY = new Uint8Array(0)
/** The body of a relay's first heartbeat. */
const JOINING = new Uint8Array([1])

/**
 * What this relay knows of the other relays on one room's channel. Behind a balancer that pins
 * each document to one relay, a room's updates usually reach no one: Redis counts the receivers of
 * every PUBLISH (this relay's own subscription among them), so once a publish reached only this
 * relay, the room's updates are no longer published, which was a tenth of a relay's CPU per write.
 * It is safe because every relay that subscribes to a room says hello on it, and a relay that has
 * left updates unpublished answers a hello with a resync, so the newcomer re-reads the store after
 * its load (which may have read the store before those updates were committed):
 * - an update skipped while `alone` was committed before this relay heard the hello, so before
 *   the resync the hello brings, so the newcomer's re-read finds it;
 * - after the hello every update is published again, and the newcomer hears it.
 * A reply counted before a hello or a cut link says nothing of now (epoch), nor one to a publish
 * sent before this relay's own SUBSCRIBE was answered (listening). Unpublished updates are also
 * announced when this relay leaves the room, closes, or its link comes back (a hello may have been
 * lost meanwhile). One window is left: Redis drops this relay's listening link and a reply counting
 * only another relay arrives before ioredis reports the close; that relay then hears the updates
 * skipped meanwhile when this link is back (a resync), not at once. A relay that dies before it
 * answers a hello is a gap of every room on the others once they take it for dead (see look).
 * Counts are one Redis server's: not for Redis Cluster, where PUBLISH counts one node's subscribers.
 */
interface RoomChannel {
  room: string
  /** This relay's SUBSCRIBE of the channel was answered and its link not cut since: a count includes it. */
  listening: boolean
  /** 'alone': the last publish reached only this relay, so updates are not published. */
  others: 'unknown' | 'shared' | 'alone'
  /** Bumped by every hello and gap: a reply counted from before one is ignored. */
  epoch: number
  /** Updates left unpublished since the last resync this relay sent for the room. */
  skipped: boolean
}

export interface RedisFanoutOptions extends RelayWatchOptions {
  /** Channel names start with this (several deployments on one Redis). */
  prefix?: string
  /** This relay's id in every message it sends, to skip its own; random unless given. */
  sender?: Uint8Array
}

/**
 * Redis forgets what it could not deliver, so unlike Hocuspocus's extension (which publishes
 * before storing, subscribes after loading and relies on ioredis re-subscribing silently), this
 * publishes only committed updates and treats every reconnection as a gap: subscriptions are
 * restored first, then onGap callbacks re-read the store. A publish that failed becomes a resync
 * message for its room once the link is back, so the others re-read it too.
 */
export class RedisFanout implements Fanout {
  private readonly handlers = new Map<string, Set<(body: Buffer, kind: Kind) => void>>()
  /** Each channel's SUBSCRIBE, which every listener of the channel waits for. */
  private readonly subscribed = new Map<string, Promise<void>>()
  private readonly gapCallbacks: Array<(room: string | null) => void> = []
  /** Rooms whose updates could not be published; announced as resyncs when Redis is back. */
  private readonly unannounced = new Set<string>()
  /** The room channels subscribed to, by channel name (see RoomChannel). */
  private readonly rooms = new Map<string, RoomChannel>()
  /** Rooms whose hello could not be sent; sent when Redis is back. */
  private readonly unhelloed = new Set<string>()
  /** Bumped whenever the listening link closes or is ready again (see counted). */
  private linkEpoch = 0
  private readonly prefix: string
  private readonly sender: Buffer
  private closed = false
  /** The other relays' heartbeats (see RelayWatch): a relay's death is a gap. */
  private readonly watch: RelayWatch
  private readonly relaysChannel: string

  private constructor(private readonly pub: Redis, private readonly sub: Redis, sender: Buffer, options: RedisFanoutOptions) {
    this.prefix = options.prefix ?? 'labsync'
    this.sender = sender
    this.relaysChannel = `${this.prefix}:relays`
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message))
    sub.on('ready', () => { this.linkEpoch++; void this.resubscribed() })
    sub.on('close', () => {
      this.linkEpoch++
      for (const state of this.rooms.values()) state.listening = false
    })
    pub.on('ready', () => this.announceUnpublished())
    this.watch = new RelayWatch(options, (first) => {
      if (!this.closed) this.send(this.relaysChannel, Kind.Alive, first ? JOINING : EMPTY).catch(() => {})
    }, () => { for (const callback of this.gapCallbacks) callback(null) })
  }

  /** Connects both links; rejects (naming Redis) when it cannot be reached. */
  static async open(url: string, options: RedisFanoutOptions = {}): Promise<RedisFanout> {
    const sender = Buffer.from(options.sender ?? randomBytes(SENDER_BYTES))
    if (sender.length !== SENDER_BYTES) throw new RangeError(`a sender id has ${SENDER_BYTES} bytes`)
    const connect = (pipelined: boolean) => new Redis(url, {
      lazyConnect: true,
      // CLIENT LIST tells each relay's two links apart: <prefix>-publish-<id> and <prefix>-listen-<id>.
      connectionName: linkName(options.prefix ?? 'labsync', pipelined ? 'publish' : 'listen', sender),
      // The publishing link sends what one turn published (a group commit's updates, each to its
      // room) as one write, and Redis answers them in one: not a round of syscalls per update.
      enableAutoPipelining: pipelined,
      // We restore subscriptions ourselves, then announce the gap: see resubscribed().
      autoResubscribe: false,
      // A publish waits through at most one reconnection; after that it is a resync (bounded memory).
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    })
    const pub = connect(true), sub = connect(false)
    // An unreachable Redis is retried; the callers learn of it through gaps, not through errors.
    for (const link of [pub, sub]) link.on('error', () => {})
    try {
      await Promise.all([pub.connect(), sub.connect()])
    } catch (error) {
      pub.disconnect(); sub.disconnect()
      throw new Error(`fan-out: Redis at ${addressOf(url)} is unreachable: ${(error as Error).message}`)
    }
    const fanout = new RedisFanout(pub, sub, sender, options)
    await fanout.joinRelays()
    return fanout
  }

  /** The name (CLIENT SETNAME) of this relay's link to publish on, or to listen on: what CLIENT LIST shows of it. */
  linkName(role: 'publish' | 'listen'): string {
    return linkName(this.prefix, role, this.sender)
  }

  /** Whether the listening link is up (connected, subscriptions restored or being restored). */
  get listening(): boolean {
    return this.sub.status === 'ready'
  }

  /** Other relays heard from lately (alive, as far as this one knows). */
  get otherRelays(): number {
    return this.watch.others
  }

  publish(room: string, update: Uint8Array): void {
    const channel = this.roomChannel(room)
    const state = this.rooms.get(channel)
    if (state?.others === 'alone') {
      state.skipped = true
      return
    }
    // A count means something only if this relay's own subscription was among those counted.
    const counting = state?.listening === true ? { epoch: state.epoch, linkEpoch: this.linkEpoch } : null
    this.send(channel, Kind.Update, update).then(
      (receivers) => { if (counting) this.counted(state!, counting.epoch, counting.linkEpoch, receivers) },
      () => this.unannounced.add(room),
    )
  }

  async subscribe(room: string, onUpdate: (update: Uint8Array) => void, onAwareness?: (update: Uint8Array | null) => void): Promise<Unsubscribe> {
    const channel = this.roomChannel(room)
    if (!this.rooms.has(channel)) this.rooms.set(channel, { room, listening: false, others: 'unknown', epoch: 0, skipped: false })
    const unsubscribe = await this.listen(channel, (body, kind) => {
      if (kind === Kind.Update) onUpdate(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
      else if (kind === Kind.Resync) for (const callback of this.gapCallbacks) callback(room)
      else if (kind === Kind.Awareness) onAwareness?.(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
      else if (kind === Kind.AskAwareness) onAwareness?.(null)
    })
    this.hello(room)
    return unsubscribe
  }

  /**
   * Whether `room`'s updates are not being published: its last publish reached no other relay and
   * no relay has said hello on it since. For tests and diagnostics.
   */
  alone(room: string): boolean {
    return this.rooms.get(this.roomChannel(room))?.others === 'alone'
  }

  publishAwareness(room: string, update: Uint8Array): void {
    // Nobody else to tell: a relay that loads the room asks for presence after its hello.
    if (this.rooms.get(this.roomChannel(room))?.others === 'alone') return
    // Presence is renewed every 15 s: one lost is not a gap, there is nothing to re-read.
    this.send(this.roomChannel(room), Kind.Awareness, update).catch(() => {})
  }

  askAwareness(room: string): void {
    this.send(this.roomChannel(room), Kind.AskAwareness, EMPTY).catch(() => {})
  }

  onGap(callback: (room: string | null) => void): void {
    this.gapCallbacks.push(callback)
  }

  broadcast(channel: string, message: string): void {
    // A lost broadcast is a gap like any other: listeners re-read what it would have told them.
    this.send(this.broadcastChannel(channel), Kind.Broadcast, Buffer.from(message, 'utf8')).catch(() => {})
  }

  async on(channel: string, callback: (message: string) => void): Promise<Unsubscribe> {
    return this.listen(this.broadcastChannel(channel), (body, kind) => { if (kind === Kind.Broadcast) callback(body.toString('utf8')) })
  }

  async close(): Promise<void> {
    // Sent before QUIT on the same link: what this relay skipped is announced even as it goes.
    for (const state of this.rooms.values()) this.announceSkipped(state)
    this.closed = true
    this.watch.stop()
    // After everything this relay published (one connection, in order): the others forget it without a gap.
    await this.send(this.relaysChannel, Kind.Leaving, EMPTY).catch(() => {})
    this.handlers.clear()
    this.rooms.clear()
    await Promise.allSettled([this.pub.quit(), this.sub.quit()])
    this.pub.disconnect(); this.sub.disconnect()
  }

  private roomChannel(room: string): string { return `${this.prefix}:doc:${room}` }
  private broadcastChannel(channel: string): string { return `${this.prefix}:bc:${channel}` }

  /** Publishes one message; resolves with how many subscribers received it (this relay's own among them). */
  private send(channel: string, kind: Kind, body: Uint8Array): Promise<number> {
    const frame = Buffer.allocUnsafe(SENDER_BYTES + 1 + body.byteLength)
    this.sender.copy(frame, 0)
    frame[SENDER_BYTES] = kind
    frame.set(body, SENDER_BYTES + 1)
    return this.pub.publish(channel, frame)
  }

  /**
   * A publish of `state`'s room reached `receivers` subscribers. Exactly one (this relay's own
   * subscription) means no other relay had the room then: stop publishing it, unless a hello or a
   * cut link came after the publish was sent (its count says nothing of now).
   */
  private counted(state: RoomChannel, epoch: number, linkEpoch: number, receivers: number): void {
    if (this.rooms.get(this.roomChannel(state.room)) !== state || state.epoch !== epoch || this.linkEpoch !== linkEpoch) return
    state.others = receivers === 1 && state.listening ? 'alone' : 'shared'
  }

  /** Tells the others on `room` that this relay now listens there (see RoomChannel). */
  private hello(room: string): void {
    this.send(this.roomChannel(room), Kind.Hello, EMPTY).catch(() => this.unhelloed.add(room))
  }

  /** Another relay subscribed to `channel`: publish its updates again, and announce those skipped. */
  private greeted(channel: string): void {
    const state = this.rooms.get(channel)
    if (!state) return
    state.epoch++
    state.others = 'shared'
    this.announceSkipped(state)
  }

  /** A resync of `state`'s room when updates were left unpublished since the last one. */
  private announceSkipped(state: RoomChannel): void {
    if (!state.skipped) return
    state.skipped = false
    this.send(this.roomChannel(state.room), Kind.Resync, EMPTY).catch(() => this.unannounced.add(state.room))
  }

  /**
   * One Redis subscription per channel however many listen; the SUBSCRIBE and UNSUBSCRIBE of a
   * channel go out on one connection in the order made, so a room unloaded and loaded again at
   * once ends subscribed (Hocuspocus's delayed unsubscribe raced this: hocuspocus#557, #971).
   * A SUBSCRIBE that fails because the link is down is made again on reconnection, then a gap.
   */
  private async listen(channel: string, handler: (body: Buffer, kind: Kind) => void): Promise<Unsubscribe> {
    let set = this.handlers.get(channel)
    if (!set) {
      this.handlers.set(channel, set = new Set())
      this.subscribed.set(channel, this.sub.subscribe(channel).then(() => {
        const state = this.rooms.get(channel)
        if (state && this.handlers.get(channel) === set) state.listening = true
      }, () => {}))
    }
    set.add(handler)
    await this.subscribed.get(channel)
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.handlers.get(channel) !== set) return
      this.handlers.delete(channel)
      this.subscribed.delete(channel)
      const state = this.rooms.get(channel)
      this.rooms.delete(channel)
      if (this.closed) return
      // A relay whose hello is still on its way would otherwise never hear of what was skipped.
      if (state) this.announceSkipped(state)
      this.sub.unsubscribe(channel).catch(() => {})
    }
  }

  private deliver(channel: string, frame: Buffer): void {
    if (frame.length <= SENDER_BYTES) return
    const own = frame.subarray(0, SENDER_BYTES).equals(this.sender)
    if (channel === this.relaysChannel) return this.heard(frame, own)
    if (own) return
    const kind = frame[SENDER_BYTES] as Kind
    if (kind === Kind.Hello) return this.greeted(channel)
    // A relay that loaded the room asks for presence after its hello; one of an earlier version,
    // which says no hello, asks all the same (every room but the catalog): it counts as one.
    if (kind === Kind.AskAwareness) this.greeted(channel)
    const body = frame.subarray(SENDER_BYTES + 1)
    for (const handler of this.handlers.get(channel) ?? []) handler(body, kind)
  }

  /** Listens to the other relays' heartbeats, counts those listening now (the roll call's), and starts beating. */
  private async joinRelays(): Promise<void> {
    // Its messages are read by heard() (deliver); the handler only keeps the channel subscribed.
    await this.listen(this.relaysChannel, () => {})
    const [, subscribers] = await this.pub.pubsub('NUMSUB', this.relaysChannel) as [string, number]
    this.watch.start(Number(subscribers) - 1)
  }

  /** A heartbeat or goodbye on the relays' channel, this relay's own included (the watch's clock). */
  private heard(frame: Buffer, own: boolean): void {
    const kind = frame[SENDER_BYTES] as Kind
    if (own) {
      if (kind === Kind.Alive) this.watch.ownBeat()
      return
    }
    const id = frame.toString('hex', 0, SENDER_BYTES)
    if (kind === Kind.Alive) this.watch.alive(id, frame[SENDER_BYTES + 1] === JOINING[0])
    else if (kind === Kind.Leaving) this.watch.leaving(id)
  }

  /** 'ready' comes on the first connection too; with nothing subscribed yet, a gap costs nothing. */
  private async resubscribed(): Promise<void> {
    const channels = [...this.handlers.keys()]
    if (channels.length > 0) {
      try {
        await this.sub.subscribe(...channels)
      } catch {
        return // cut again: the next 'ready' tries again
      }
    }
    if (this.closed) return
    this.watch.reconnected()
    // Hellos sent while this relay was not listening went unheard, and the others may have stopped
    // publishing to it meanwhile: count afresh, announce what was skipped, and say hello again.
    for (const state of this.rooms.values()) {
      state.listening = true
      state.epoch++
      state.others = 'unknown'
      this.announceSkipped(state)
      this.hello(state.room)
    }
    for (const callback of this.gapCallbacks) callback(null)
  }

  private announceUnpublished(): void {
    const rooms = [...this.unannounced]
    this.unannounced.clear()
    for (const room of rooms) this.send(this.roomChannel(room), Kind.Resync, EMPTY).catch(() => this.unannounced.add(room))
    const hellos = [...this.unhelloed]
    this.unhelloed.clear()
    for (const room of hellos) if (this.rooms.has(this.roomChannel(room))) this.hello(room)
  }
}

/** `<prefix>-publish-<id>` or `<prefix>-listen-<id>` (the sender id's first 8 hex digits). */
function linkName(prefix: string, role: 'publish' | 'listen', sender: Buffer): string {
  // CLIENT SETNAME takes no spaces: a prefix is a channel name, which may have them.
  return `${prefix.replace(/[^\w.:-]/g, '_')}-${role}-${sender.toString('hex', 0, 4)}`
}

/** Where a Redis URL points, without its credentials: what an error may say of it. */
function addressOf(url: string): string {
  try {
    const { protocol, host } = new URL(url)
    return `${protocol}//${host}`
  } catch {
    return 'the configured URL'
  }
}
