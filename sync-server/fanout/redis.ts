// Fan-out through Redis pub/sub (ioredis): one channel per room and per broadcast channel, one
// connection to publish and one to listen; a cut link is a gap, announced once listening again.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Fanout, Unsubscribe } from './fanout.ts'

const SENDER_BYTES = 16
const enum Kind { Update = 0, Resync = 1, Broadcast = 2, Awareness = 3, AskAwareness = 4 }

export interface RedisFanoutOptions {
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
  private readonly prefix: string
  private readonly sender: Buffer
  private closed = false

  private constructor(private readonly pub: Redis, private readonly sub: Redis, options: RedisFanoutOptions) {
    this.prefix = options.prefix ?? 'labsync'
    this.sender = Buffer.from(options.sender ?? randomBytes(SENDER_BYTES))
    if (this.sender.length !== SENDER_BYTES) throw new RangeError(`a sender id has ${SENDER_BYTES} bytes`)
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message))
    sub.on('ready', () => void this.resubscribed())
    pub.on('ready', () => this.announceUnpublished())
  }

  /** Connects both links; rejects (naming Redis) when it cannot be reached. */
  static async open(url: string, options: RedisFanoutOptions = {}): Promise<RedisFanout> {
    const connect = (pipelined: boolean) => new Redis(url, {
      lazyConnect: true,
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
    return new RedisFanout(pub, sub, options)
  }

  publish(room: string, update: Uint8Array): void {
    this.send(this.roomChannel(room), Kind.Update, update).catch(() => this.unannounced.add(room))
  }

  async subscribe(room: string, onUpdate: (update: Uint8Array) => void, onAwareness?: (update: Uint8Array | null) => void): Promise<Unsubscribe> {
    return this.listen(this.roomChannel(room), (body, kind) => {
      if (kind === Kind.Update) onUpdate(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
      else if (kind === Kind.Resync) for (const callback of this.gapCallbacks) callback(room)
      else if (kind === Kind.Awareness) onAwareness?.(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
      else if (kind === Kind.AskAwareness) onAwareness?.(null)
    })
  }

  publishAwareness(room: string, update: Uint8Array): void {
    // Presence is renewed every 15 s: one lost is not a gap, there is nothing to re-read.
    this.send(this.roomChannel(room), Kind.Awareness, update).catch(() => {})
  }

  askAwareness(room: string): void {
    this.send(this.roomChannel(room), Kind.AskAwareness, new Uint8Array(0)).catch(() => {})
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
    this.closed = true
    this.handlers.clear()
    await Promise.allSettled([this.pub.quit(), this.sub.quit()])
    this.pub.disconnect(); this.sub.disconnect()
  }

  private roomChannel(room: string): string { return `${this.prefix}:doc:${room}` }
  private broadcastChannel(channel: string): string { return `${this.prefix}:bc:${channel}` }

  private async send(channel: string, kind: Kind, body: Uint8Array): Promise<void> {
    const frame = Buffer.allocUnsafe(SENDER_BYTES + 1 + body.byteLength)
    this.sender.copy(frame, 0)
    frame[SENDER_BYTES] = kind
    frame.set(body, SENDER_BYTES + 1)
    await this.pub.publish(channel, frame)
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
      this.subscribed.set(channel, this.sub.subscribe(channel).then(() => {}, () => {}))
    }
    set.add(handler)
    await this.subscribed.get(channel)
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.handlers.get(channel) !== set) return
      this.handlers.delete(channel)
      this.subscribed.delete(channel)
      if (!this.closed) this.sub.unsubscribe(channel).catch(() => {})
    }
  }

  private deliver(channel: string, frame: Buffer): void {
    if (frame.length <= SENDER_BYTES || frame.subarray(0, SENDER_BYTES).equals(this.sender)) return
    const kind = frame[SENDER_BYTES] as Kind
    const body = frame.subarray(SENDER_BYTES + 1)
    for (const handler of this.handlers.get(channel) ?? []) handler(body, kind)
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
    for (const callback of this.gapCallbacks) callback(null)
  }

  private announceUnpublished(): void {
    const rooms = [...this.unannounced]
    this.unannounced.clear()
    for (const room of rooms) this.send(this.roomChannel(room), Kind.Resync, new Uint8Array(0)).catch(() => this.unannounced.add(room))
  }
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
