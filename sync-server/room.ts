// One loaded document and the sockets on it: the load gate, write checks against the rights
// table, persistence before broadcast (an echo means durable), awareness, and idle unload.
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import type { Room as RoomName } from '../shared/schema.ts'
import { mayRead, readOrderFacts, refuseWrite, NO_ORDER_FACTS, type OrderFacts, type Principal } from '../shared/rights.ts'
import { Close } from '../shared/errors.ts'
import { readShape, scratchCopy, tryUpdate } from './shape.ts'
import { documentFull, documentLimit } from './quota.ts'
import { awarenessClientIds, awarenessMessage, awarenessUpdateMessage, permissionDeniedMessage, step1Message, step2Message, updateMessage } from '../shared/sync-protocol.ts'
import { Outbox } from './outbox.ts'
import { StoredLog } from './stored-log.ts'
import { HeldWrites } from './held-writes.ts'
import { SERVER_ORIGIN, FANOUT_ORIGIN, type Peer, type RoomOptions } from './room-api.ts'

export { SERVER_ORIGIN, RELAY_ORIGIN, FANOUT_ORIGIN, type Peer, type RoomHooks, type RoomOptions } from './room-api.ts'

/** A customer's write this small may take their document an eighth past its limit (see Room.fits). */
const SMALL_WRITE_BYTES = 1024

export class Room {
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly peers = new Set<Peer>()
  private scratch: Y.Doc | null = null
  private readonly outbox = new Outbox<Peer>((peer, message) => {
    if (peer === null) for (const p of this.peers) p.send(message)
    else if (this.peers.has(peer)) peer.send(message)
  })
  private readonly log: StoredLog
  /** outbox.made when the document's compacted size was last measured (see fits). */
  private sizeMeasuredAt = -1
  private refusals = new WeakMap<Peer, number>()
  private failed = false
  /** facts() between transactions: read on every message, changed only by writes. */
  private factsCache: OrderFacts | null = null
  /** The peer update being applied right now, when its bytes are exactly what it changes. */
  private applying: { peer: Peer; update: Uint8Array } | null = null
  /** Above 0 while withYjsEncoding stores what Yjs emits instead. */
  private encodingByYjs = 0
  private readonly held = new HeldWrites()

  private constructor(readonly name: RoomName, private readonly options: RoomOptions, stored: Uint8Array[]) {
    // A guid given up front: Yjs otherwise draws a random one, a sixth of the cost of a new room.
    this.doc = new Y.Doc({ guid: name.name })
    this.doc.transact(() => { for (const update of stored) Y.applyUpdate(this.doc, update) })
    this.log = new StoredLog({
      store: options.store, doc: name.name, compactAfterUpdates: options.compactAfterUpdates,
      snapshot: () => Y.encodeStateAsUpdate(this.doc),
      apply: (updates) => this.applyStored(updates, false),
      fail: (error) => this.fail(error),
    }, stored)
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    this.awareness.setLocalState(null) // the server itself is not a participant
    // Stored and broadcast per transaction. No lasting 'update' listener: Yjs would re-encode
    // every peer's update for it, half the cost of an order's first write. A peer's update is kept
    // as it arrived when that is exactly what the transaction applied (see receiveUpdate); the
    // server's own writes, and a peer update that unblocks held-back changes, are encoded by Yjs
    // (withYjsEncoding). Any other change is stored as everything after the state before it.
    this.doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (changesTopLevel(transaction)) this.factsCache = null // facts() reads top-level keys only
      if (this.encodingByYjs > 0 || !changedBy(transaction)) return
      if (transaction.origin === FANOUT_ORIGIN) return this.sendStored(transaction)
      const applying = this.applying
      const update = applying !== null && applying.peer === transaction.origin
        ? applying.update
        : Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(transaction.beforeState))
      this.persist(update, transaction.origin)
    })
    this.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed])
      const message = awarenessUpdateMessage(update)
      // In the catalog every customer is a reader: presence must not leak between them, so a
      // peer's awareness only comes back to itself (which keeps stock clients' watchdog fed).
      if (this.name.kind === 'catalog') { if (isPeer(origin)) origin.send(message); return }
      for (const peer of this.peers) peer.send(message)
      // To this room's clients on other relays: what changed here (a peer's state, a peer leaving),
      // not what came from there, nor a state timing out (that happens on every relay by itself).
      if (origin !== FANOUT_ORIGIN && origin !== 'timeout') this.options.fanout?.publishAwareness(this.name.name, update)
    })
  }

  /** Loads a document; throws when storage fails, and then nothing is created or written. */
  static async load(name: RoomName, options: RoomOptions): Promise<Room> {
    const stored = await options.store.load(name.name)
    const room = new Room(name, options, stored)
    options.hooks.onLoad?.(room)
    return room
  }

  facts(): OrderFacts {
    if (this.name.kind !== 'order') return NO_ORDER_FACTS
    if (this.factsCache !== null) return this.factsCache
    const facts = readOrderFacts(this.doc)
    if (this.doc._transaction === null) this.factsCache = facts // inside a transaction it may still change
    return facts
  }

  mayRead(principal: Principal): boolean {
    return mayRead(principal, this.name, this.facts())
  }

  /** Adds a peer that may read this room, and starts the sync: step 1 and current awareness. */
  join(peer: Peer): void {
    this.peers.add(peer)
    this.send(peer, step1Message(this.doc))
    const states = this.awareness.getStates()
    if (states.size > 0 && this.name.kind !== 'catalog') peer.send(awarenessMessage(this.awareness, [...states.keys()]))
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    awarenessProtocol.removeAwarenessStates(this.awareness, [...peer.awarenessIds], null)
    if (this.peers.size === 0) this.scratch = null // only writers need it; rebuilt on the next write
  }

  /** Sync step 1 from a peer: answer with what it lacks, once everything before is durable. */
  answerStep1(peer: Peer, stateVector: Uint8Array): void {
    this.send(peer, step2Message(this.doc, stateVector))
  }

  /**
   * A peer's update (sync step 2 or an incremental update): tried on a scratch copy, refused
   * whole if it touches anything the peer may not write, otherwise applied, stored, and echoed
   * to every peer (the writer too) once durable. Throws on an update Yjs cannot decode.
   */
  receiveUpdate(peer: Peer, update: Uint8Array, answered?: { refusal: string | null }): void {
    // A stock client's first step 2 is usually empty: nothing to check, no scratch copy to build.
    if (update.length === 2 && update[0] === 0 && update[1] === 0) return
    if (this.held.holding && !answered) return this.held.later(() => this.replay(peer, update))
    // Customers' documents have a size limit, checked before anything is decoded; the server's own and labs' writes do not.
    if (peer.principal.kind === 'user' && !this.fits(update.length)) {
      return this.refuse(peer, documentFull(this.name, this.log.bytes, update.length, documentLimit(this.name, this.options.limits)))
    }
    const facts = this.facts()
    // Most writes are judged from the update's structure alone; the rest on the scratch copy.
    let trial = readShape(this.doc, update)
    const onScratch = trial === null
    if (trial === null) {
      this.scratch ??= scratchCopy(this.doc)
      try {
        trial = tryUpdate(this.scratch, update)
      } catch (error) {
        this.scratch = null
        throw error
      }
      if (trial.incomplete) {
        // Never store half a write. A client racing its own sync step 2 sends the whole of it again
        // there; a client whose earlier write was refused is told why this one was not applied.
        this.scratch = null
        this.tell(peer, 'write refused: it builds on changes the relay does not have (an earlier refused write, or changes not synced yet)')
        return
      }
    }
    const refusal = !trial.changed ? null
      : (this.options.refuseWrite ?? refuseWrite)(peer.principal, this.name, trial.shape, facts)
        ?? (answered ? answered.refusal : this.options.hooks.beforeWrite?.(this, peer.principal, trial.shape)) ?? null
    if (refusal instanceof Promise) {
      if (onScratch) this.scratch = null
      // Run again once answered, the rights checked afresh; unanswered (database out of reach), the
      // writer retries later and sends its changes again: nothing of this write was acknowledged.
      return this.held.hold(refusal, (a) => 'value' in a ? this.replay(peer, update, { refusal: a.value }) : peer.close(Close.LoadFailed))
    }
    if (refusal !== null) {
      if (onScratch) this.scratch = null
      this.refuse(peer, refusal)
      return
    }
    if (!onScratch) this.scratch = null // it lacks this write now
    // Changes held back from an earlier update (waiting for what this one may bring) would be
    // applied in the same transaction without being in these bytes: then Yjs encodes it.
    const holdsBack = this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null
    if (holdsBack) {
      this.withYjsEncoding(() => Y.applyUpdate(this.doc, update, peer))
    } else {
      this.applying = { peer, update }
      try {
        Y.applyUpdate(this.doc, update, peer)
      } finally {
        this.applying = null
      }
    }
    // Who may read an order depends only on spec.user and the receipt.
    const readersMayChange = trial.shape.maps.has('receipt') || trial.shape.specKeys.has('user')
    if (this.name.kind === 'order' && trial.changed && readersMayChange) this.dropPeersWhoMayNotRead()
  }

  /** A held write, run when its turn comes: dropped when its writer has left (it sends it again on return). */
  private replay(peer: Peer, update: Uint8Array, answered?: { refusal: string | null }): void {
    if (!this.peers.has(peer) || this.failed) return
    try {
      this.receiveUpdate(peer, update, answered)
    } catch {
      peer.close(Close.BadMessage)
    }
  }

  /** The server's own write (origin SERVER_ORIGIN). Resolves when it is durable. */
  writeAsServer(change: (doc: Y.Doc) => void): Promise<void> {
    this.scratch = null
    this.withYjsEncoding(() => this.doc.transact(() => change(this.doc), SERVER_ORIGIN))
    // At a lab node these are the relay's changes arriving in a copy that may have had no owner
    // yet: whoever joined the empty room and is not the owner must not see them.
    if (this.name.kind === 'order') this.dropPeersWhoMayNotRead()
    return this.whenDurable()
  }

  /** writeAsServer, by the name the relay's code knows it. */
  writeAsRelay(change: (doc: Y.Doc) => void): Promise<void> {
    return this.writeAsServer(change)
  }

  /** Resolves once every write made so far is durable. */
  whenDurable(): Promise<void> {
    if (this.failed) return Promise.reject(new Error(`${this.name.name} could not be stored`))
    return this.outbox.whenDurable()
  }

  /**
   * Updates another relay stored (through the fan-out, or re-read by catchUp): applied under
   * FANOUT_ORIGIN, sent to this room's peers at once (they are durable already), not stored again.
   */
  applyStored(updates: Uint8Array[], live = true): void {
    if (updates.length === 0 || this.failed) return
    this.scratch = null // it lacks these now
    this.doc.transact(() => { for (const update of updates) Y.applyUpdate(this.doc, update, FANOUT_ORIGIN) }, FANOUT_ORIGIN)
    if (live) for (const update of updates) this.log.storedElsewhere(update)
    if (this.name.kind === 'order') this.dropPeersWhoMayNotRead()
  }

  /** Re-reads the document from the store and applies what this copy lacks: after a gap in the fan-out. */
  catchUp(): Promise<void> {
    return this.failed ? Promise.resolve() : this.log.catchUp()
  }

  receiveAwareness(peer: Peer, update: Uint8Array): void {
    // Remember which awareness clients this peer speaks for, to remove them when it leaves.
    for (const id of awarenessClientIds(update)) peer.awarenessIds.add(id)
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer)
  }

  /** Presence of this room's clients on another relay (through the fan-out): to this room's peers. */
  applyRemoteAwareness(update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, FANOUT_ORIGIN)
  }

  /** Another relay loaded this room and asks who is on it: the states this relay's peers speak for. */
  shareAwareness(): void {
    if (this.name.kind === 'catalog') return
    const states = this.awareness.getStates()
    const ids = [...this.peers].flatMap((peer) => [...peer.awarenessIds].filter((id) => states.has(id)))
    if (ids.length > 0) this.options.fanout?.publishAwareness(this.name.name, awarenessProtocol.encodeAwarenessUpdate(this.awareness, ids))
  }

  answerAwarenessQuery(peer: Peer): void {
    if (this.name.kind === 'catalog') return
    peer.send(awarenessMessage(this.awareness, [...this.awareness.getStates().keys()]))
  }

  get idle(): boolean {
    return this.peers.size === 0 && this.outbox.settled && !this.log.busy
  }

  get isFailed(): boolean { return this.failed }

  /** Frees the document. Only for an idle room; compacts a long log first. */
  unload(): void {
    this.log.unload()
    this.destroy()
  }

  /** Frees the document and its awareness timer, storing nothing more. */
  destroy(): void {
    this.awareness.destroy()
    this.doc.destroy()
  }

  /** Runs `change` storing each of its transactions as Yjs encodes it (its 'update' event). */
  private withYjsEncoding(change: () => void): void {
    const store = (update: Uint8Array, origin: unknown) => this.persist(update, origin)
    this.doc.on('update', store)
    this.encodingByYjs++
    try {
      change()
    } finally {
      this.encodingByYjs--
      this.doc.off('update', store)
    }
  }

  /** Sends to one peer, after every write made so far is durable. */
  private send(peer: Peer, message: Uint8Array): void {
    this.outbox.send(peer, message)
  }

  private persist(update: Uint8Array, origin: unknown): void {
    const writeNumber = this.outbox.write(updateMessage(update))
    const early = this.options.echoBeforeCommit === true
    if (early) this.durable(writeNumber, origin)
    this.options.store.append(this.name.name, update).then(
      () => {
        if (this.options.dieAfterStoring === this.name.name) process.kill(process.pid, 'SIGKILL')
        // Published where the echo is released: another relay's peers see only what is durable.
        this.options.fanout?.publish(this.name.name, update)
        if (!early) this.durable(writeNumber, origin)
      },
      (error: Error) => this.fail(error),
    )
    this.log.appended(update)
  }

  /** A transaction that applied updates other relays stored: its peers get what it changed. */
  private sendStored(transaction: Y.Transaction): void {
    const message = updateMessage(Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(transaction.beforeState)))
    for (const peer of this.peers) peer.send(message)
  }

  /**
   * Whether `bytes` more fit in this document's limit. A small write may go an eighth past it: the
   * relay's receipt may take a full order past its limit, and its customer must still be able to
   * submit and cancel it. Deleted content stays in the log until it is compacted, so a customer
   * who made room gets it: the document's compacted size is measured (at most once per write made
   * since) and, when the write fits that, the log is compacted now.
   */
  private fits(bytes: number): boolean {
    const limit = documentLimit(this.name, this.options.limits) * (bytes <= SMALL_WRITE_BYTES ? 1.125 : 1)
    if (this.log.bytes + bytes <= limit) return true
    if (this.sizeMeasuredAt === this.outbox.made) return false
    this.sizeMeasuredAt = this.outbox.made
    const snapshot = Y.encodeStateAsUpdate(this.doc)
    if (snapshot.length + bytes > limit) return false
    this.log.compact(snapshot)
    return true
  }

  private durable(writeNumber: number, origin: unknown): void {
    this.outbox.durable(writeNumber)
    const writer = origin === SERVER_ORIGIN ? SERVER_ORIGIN : isPeer(origin) ? origin.principal : null
    if (writer !== null) this.options.hooks.onChange?.(this, writer)
  }

  /**
   * Storage refused a write: the document in memory is now ahead of the disk. Nothing of it was
   * acknowledged, so drop the room; clients reconnect later and send their changes again.
   */
  private fail(error: Error): void {
    if (this.failed) return
    this.failed = true
    console.error(`relay: storing ${this.name.name} failed, dropping it from memory: ${error.message}`)
    for (const peer of [...this.peers]) peer.close(Close.LoadFailed)
    this.outbox.fail(error)
  }

  private refuse(peer: Peer, reason: string): void {
    const count = (this.refusals.get(peer) ?? 0) + 1
    this.refusals.set(peer, count)
    this.tell(peer, `write refused: ${reason}`)
    if (count >= this.options.maxRefusals) peer.close(Close.TooManyRefusals)
  }

  /** A y-websocket permission-denied message: stock clients log it, the PWA shows it. */
  private tell(peer: Peer, reason: string): void {
    this.send(peer, permissionDeniedMessage(reason))
  }

  private dropPeersWhoMayNotRead(): void {
    for (const peer of [...this.peers]) if (!this.mayRead(peer.principal)) peer.close(Close.Forbidden)
  }
}

/** Whether a transaction changed the document (what Yjs checks before emitting 'update'). */
function changedBy(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true
  for (const [client, clock] of transaction.afterState) if (transaction.beforeState.get(client) !== clock) return true
  return false
}

/**
 * Whether a transaction changed a top-level type (a key of a top-level map): readOrderFacts reads
 * nothing else, so a change inside nested types (an item's quantity) keeps facts() as it was.
 */
function changesTopLevel(transaction: Y.Transaction): boolean {
  for (const type of transaction.changed.keys()) if (type._item === null) return true
  return false
}

function isPeer(origin: unknown): origin is Peer {
  return typeof origin === 'object' && origin !== null && 'principal' in origin && 'send' in origin
}

