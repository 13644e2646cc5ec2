// What a room is given and what it gives its users: the origins its writes carry, the Peer a
// socket implements, the hooks order intake hangs off, and the options a registry passes.
import type { DocStore } from '../storage/doc-store.ts'
import type { Limits } from '../shared/limits.ts'
import type { Principal, WriteShape, refuseWrite } from '../shared/rights.ts'
import type { CloseEvent } from '../shared/errors.ts'
import type { Fanout } from './fanout/fanout.ts'
import type { Room } from './room.ts'

/**
 * The server's own writes carry this origin: the relay's receipts, queues and catalog, and at a
 * lab node's in-store server its stamps and what it brings down from the relay.
 */
export const SERVER_ORIGIN = Symbol('server')
/** The name the relay's code knows SERVER_ORIGIN by. */
export const RELAY_ORIGIN: typeof SERVER_ORIGIN = SERVER_ORIGIN
/**
 * Updates another relay stored in the shared DocStore carry this origin: sent to this room's
 * peers, never stored or published again.
 */
export const FANOUT_ORIGIN = Symbol('fanout')

/** What a room needs from a socket; connection.ts implements it. */
export interface Peer {
  readonly principal: Principal
  send(message: Uint8Array): void
  close(event: CloseEvent): void
  /** Awareness client ids this peer announced, removed when it leaves. */
  readonly awarenessIds: Set<number>
}

/** Named document events (Hocuspocus-style hooks) that order intake and history hang off. */
export interface RoomHooks {
  /** A document was loaded from storage (before any peer sees it). */
  onLoad?(room: Room): void
  /**
   * A loaded document re-read the store after a gap in the fan-out (a cut link to Redis, another
   * relay taken for dead): what that relay stored and did not publish is applied now, and the
   * work it had not done yet (the hooks that run on its writes) is this relay's, as after onLoad.
   * Only rooms loaded here are re-read: a room the dead relay alone had (the balancer pins each
   * document to one relay) waits for its next load anywhere, whose onLoad does the same.
   */
  onReread?(room: Room): void
  /**
   * A peer's write that the rights table allows, before it is applied: a reason to refuse it
   * (facts beyond this document, such as another order citing this one), or null to let it in.
   * A promise (facts in a shared database): that write and later ones wait for it (HeldWrites).
   */
  beforeWrite?(room: Room, principal: Principal, shape: WriteShape): string | null | Promise<string | null>
  /** An accepted write is durable. `origin` is the writer, or SERVER_ORIGIN. */
  onChange?(room: Room, origin: Principal | typeof SERVER_ORIGIN): void
}

export interface RoomOptions {
  store: DocStore
  hooks: RoomHooks
  /** Compact the update log into a snapshot after this many updates since the last one. */
  compactAfterUpdates: number
  /** A peer that keeps sending refused writes is cut off after this many. */
  maxRefusals: number
  /** The write rule: shared/rights.ts refuseWrite (the relay's) unless given, e.g. refuseWriteInStore at a lab node. */
  refuseWrite?: typeof refuseWrite
  /** Per-document byte limits (the server's `limits`); none when not given. */
  limits?: Pick<Limits, 'orderDocBytes' | 'userDocBytes'>
  /** Other relays on the same DocStore: each stored update is published once durable. */
  fanout?: Fanout
  /** Test only: echo before storing, breaking "an echo means durable" for a negative control. */
  echoBeforeCommit?: boolean
  /**
   * Test only: the room whose first write stored here SIGKILLs this process, after the commit and
   * before anything else (no publish, no echo, no hook): a relay's death in that window, on cue.
   */
  dieAfterStoring?: string
}
