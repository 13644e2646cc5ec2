// Fan-out through Redis pub/sub (ioredis): one channel per room and per broadcast channel, one
// connection to publish and one to listen; a cut link is a gap, announced once listening again,
// and so is another relay's death (it may have stored updates it never published). A room no
// other relay has loaded (the balancer pins each document to one relay) is not published at all:
// see RoomChannel.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Fanout, Unsubscribe } from './fanout.ts'

const SENDER_BYTES = 16
const enum Kind { Update = 0, Resync = 1, Broadcast = 2, Awareness = 3, AskAwareness = 4, Hello = 5, Alive = 6, Leaving = 7 }
const EMPTY = new Uint8Array(0)
/** The body of a relay's first heartbeat. */
const JOINING = new Uint8Array([1])

/** How often a relay says it is alive, and how long one not heard from is taken for dead, unless given. */
export const HEARTBEAT_MS = 1_000
export const DEAD_AFTER_MS = 5_000

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

export interface RedisFanoutOptions {
  /** Channel names start with this (several deployments on one Redis). */
  prefix?: string
  /** This relay's id in every message it sends, to skip its own; random unless given. */
  sender?: Uint8Array
  /** How often this relay tells the others it is alive (HEARTBEAT_MS unless given). */
  heartbeatMs?: number
  /**
   * Another relay not heard from for this long is taken for dead (DEAD_AFTER_MS unless given): it
   * may have died between storing an update and publishing it, so its silence is a gap. Counted
   * in this relay's own heartbeats come back from Redis, so this relay's own lag takes nobody for
   * dead; longer than any stall of a busy relay's loop (its beats stop meanwhile), or such a stall
   * costs the others a re-read of every room. All relays of a cluster beat at the same interval.
   */
  deadAfterMs?: number
  /** Where a relay taken for dead is told (console.error unless given). */
  log?: (line: string) => void
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
  /**
   * The other relays heard from (by sender id, hex), each with the count of beatsBack when it was
   * last heard: silence is measured in this relay's own heartbeats come back from Redis, which
   * travel the same way theirs do, so a relay whose own loop or link lags takes nobody for dead.
   */
  private readonly peers = new Map<string, number>()
  private beatsBack = 0
  /** When the last own beat was counted: a burst of them (Redis stalled, then ran its backlog) counts once. */
  private lastBeatBackAt = 0
  /**
   * Until this relay has counted deadAfterMs of its own beats: the relays subscribed to the relays'
   * channel when it joined (PUBSUB NUMSUB, itself excluded), and every one heard meanwhile. A relay
   * that was there and never heard died before this one heard it: see rollCall.
   */
  private rollCall: { expected: number; heard: Set<string>; newcomers: Set<string> } | null = null
  private readonly relaysChannel: string
  private readonly heartbeat: NodeJS.Timeout
  private readonly heartbeatMs: number
  private readonly deadAfterMs: number
  private readonly log: (line: string) => void

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
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS
    this.deadAfterMs = options.deadAfterMs ?? DEAD_AFTER_MS
    this.log = options.log ?? ((line) => console.error(line))
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs)
    this.heartbeat.unref()
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
    return this.peers.size
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
    clearInterval(this.heartbeat)
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

  /**
   * Listens to the other relays' heartbeats and sends the first of this one's. A relay that
   * stops beating without saying it is leaving was killed, or cut off, or stalled: whatever it
   * stored and had not yet published (a write, a receipt, a queue entry) reaches no other relay's
   * clients, and the hooks it had not yet run (intake, lab reports) did not run. Its silence is a
   * gap of every room (see look).
   */
  private async joinRelays(): Promise<void> {
    // Its messages are read by heard() (deliver); the handler only keeps the channel subscribed.
    await this.listen(this.relaysChannel, () => {})
    const [, subscribers] = await this.pub.pubsub('NUMSUB', this.relaysChannel) as [string, number]
    this.rollCall = { expected: Number(subscribers) - 1, heard: new Set(), newcomers: new Set() }
    this.beat(JOINING)
  }

  /** A heartbeat: the first one says it is this relay's first (a newcomer is not among those a roll call waits for). */
  private beat(body = EMPTY): void {
    if (!this.closed) this.send(this.relaysChannel, Kind.Alive, body).catch(() => {})
  }

  /** A heartbeat or goodbye on the relays' channel, this relay's own included (its clock). */
  private heard(frame: Buffer, own: boolean): void {
    const kind = frame[SENDER_BYTES] as Kind
    if (own) {
      const now = Date.now()
      if (kind !== Kind.Alive || now - this.lastBeatBackAt < this.heartbeatMs / 2) return
      this.lastBeatBackAt = now
      this.look(++this.beatsBack)
      return
    }
    const id = frame.toString('hex', 0, SENDER_BYTES)
    if (this.rollCall) {
      // One that joined after this relay did was not counted when it joined: it must not stand in for one that was.
      if (kind === Kind.Alive && frame[SENDER_BYTES + 1] === JOINING[0]) this.rollCall.newcomers.add(id)
      else if (!this.rollCall.newcomers.has(id)) this.rollCall.heard.add(id)
    }
    if (kind === Kind.Alive) this.peers.set(id, this.beatsBack)
    else if (kind === Kind.Leaving) this.peers.delete(id)
  }

  /**
   * Relays silent for deadAfterMs of this relay's own beats are forgotten; one or more is a gap of
   * every room. So is a relay that was subscribed when this one joined and was never heard: it
   * died before it beat again, maybe after this relay loaded a room it had written to.
   */
  private look(now: number): void {
    const limit = Math.ceil(this.deadAfterMs / this.heartbeatMs)
    const silent = [...this.peers].filter(([, heard]) => now - heard >= limit).map(([id]) => id)
    for (const id of silent) this.peers.delete(id)
    let unheard = 0
    if (this.rollCall && now >= limit) {
      unheard = Math.max(0, this.rollCall.expected - this.rollCall.heard.size)
      this.rollCall = null
    }
    if (silent.length === 0 && unheard === 0) return
    const who = [...silent.map((id) => id.slice(0, 8)), ...(unheard ? [`${unheard} never heard since this relay started`] : [])]
    this.log(`relay: ${silent.length + unheard === 1 ? 'another relay' : `${silent.length + unheard} other relays`} (${who.join(', ')}) silent for ${this.deadAfterMs / 1000} s, taken for dead: re-reading every room held here`)
    for (const callback of this.gapCallbacks) callback(null)
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
    // Heartbeats missed while cut off are not deaths: every room is re-read now anyway.
    for (const id of this.peers.keys()) this.peers.set(id, this.beatsBack)
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
