// Which other relays of a cluster are alive, from the heartbeats each sends on the fan-out's
// relays channel (fanout/redis.ts sends and reads them). A relay SIGKILLed after PostgreSQL
// committed a write and before it published it leaves the other relays' copies stale, and the
// hooks of that write (intake, lab reports) not run; no client covers that window, since the
// writer got no echo and may be gone. So a relay that falls silent without having said it is
// leaving is taken for dead, and its death is a gap of every room: the others re-read the store.

/** How often a relay says it is alive, and how long one not heard from is taken for dead, unless given. */
export const HEARTBEAT_MS = 1_000
export const DEAD_AFTER_MS = 5_000

export interface RelayWatchOptions {
  /** How often this relay tells the others it is alive (HEARTBEAT_MS unless given). */
  heartbeatMs?: number
  /**
   * Another relay not heard from for this long is taken for dead (DEAD_AFTER_MS unless given).
   * Counted in this relay's own heartbeats come back from Redis, so this relay's own lag takes
   * nobody for dead; longer than any stall of a busy relay's loop (its beats stop meanwhile), or
   * such a stall costs the others a re-read of every room. All relays of a cluster beat at the
   * same interval.
   */
  deadAfterMs?: number
  /** Where a relay taken for dead is told (console.error unless given). */
  log?: (line: string) => void
}

/**
 * The other relays heard from, each with the count of this relay's own heartbeats come back from
 * Redis when it was last heard: silence is measured in those, which travel the way theirs do, so
 * a relay whose own loop or link lags takes nobody for dead, and a burst of them (Redis stalled,
 * then ran its backlog) counts once.
 *
 * A roll call covers a relay's first deadAfterMs: the relays listening when it joined are counted
 * (PUBSUB NUMSUB), and one of them never heard meanwhile died before this relay heard it, maybe
 * after this relay loaded a room it had written to: a gap too. A newcomer's first heartbeat says
 * so, and a newcomer never stands in for one that was there.
 */
export class RelayWatch {
  private readonly peers = new Map<string, number>()
  private beatsBack = 0
  private lastBeatBackAt = 0
  private rollCall: { expected: number; heard: Set<string>; newcomers: Set<string> } | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly heartbeatMs: number
  private readonly deadAfterMs: number
  private readonly log: (line: string) => void

  /**
   * `beat(first)` sends one heartbeat (`first`: this relay's first); `dead()` is called when one or
   * more relays are taken for dead.
   */
  constructor(options: RelayWatchOptions, private readonly beat: (first: boolean) => void, private readonly dead: () => void) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS
    this.deadAfterMs = options.deadAfterMs ?? DEAD_AFTER_MS
    this.log = options.log ?? ((line) => console.error(line))
  }

  /** Starts beating, `othersAtStart` other relays listening as this one joined (the roll call's). */
  start(othersAtStart: number): void {
    this.rollCall = { expected: othersAtStart, heard: new Set(), newcomers: new Set() }
    this.beat(true)
    this.timer = setInterval(() => this.beat(false), this.heartbeatMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Other relays heard from lately (alive, as far as this one knows). */
  get others(): number {
    return this.peers.size
  }

  /** One of this relay's own heartbeats came back from Redis: the clock silence is counted in. */
  ownBeat(): void {
    const now = Date.now()
    if (now - this.lastBeatBackAt < this.heartbeatMs / 2) return
    this.lastBeatBackAt = now
    this.look(++this.beatsBack)
  }

  /** Another relay's heartbeat (`first`: its first since it started). */
  alive(id: string, first: boolean): void {
    this.called(id, first)
    this.peers.set(id, this.beatsBack)
  }

  /** Another relay said it is leaving (a clean shutdown, after all it published): forgotten, no gap. */
  leaving(id: string): void {
    this.called(id, false)
    this.peers.delete(id)
  }

  /** This relay's listening link was cut and is back: heartbeats missed meanwhile are not deaths (every room is re-read anyway). */
  reconnected(): void {
    for (const id of this.peers.keys()) this.peers.set(id, this.beatsBack)
  }

  private called(id: string, first: boolean): void {
    if (!this.rollCall) return
    if (first) this.rollCall.newcomers.add(id)
    else if (!this.rollCall.newcomers.has(id)) this.rollCall.heard.add(id)
  }

  /** Relays silent for deadAfterMs of own beats, and at the roll call's end those never heard, are taken for dead. */
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
    this.dead()
  }
}
