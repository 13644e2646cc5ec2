// Everything the in-store server owes the relay, passed on whenever the relay can be reached:
// the customers' documents (one UpstreamLink each, as that customer, all of one customer's on one
// multiplexed socket: each is authenticated by that customer's own token), the photos they uploaded
// over the LAN (PUT as that customer), and, in the other direction, the catalog, sign-outs and
// the relay's clock. The lab node's own key for in-store stamps is registered here too.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { parseRoom, type Room as RoomName } from '../../shared/schema.ts'
import type { KeyPair } from '../../shared/signing.ts'
import type { Principal } from '../../shared/rights.ts'
import { Close } from '../../shared/errors.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import type { LanState } from './state.ts'
import { UpstreamLink } from './upstream.ts'
import { MuxUplink } from '../../sync-server/mux-uplink.ts'
import { MUX_PATH } from '../../sync-server/endpoint.ts'

export interface ForwarderOptions {
  relayUrl: string
  labId: string
  labKey: string
  signingKey: KeyPair
  rooms: Rooms
  state: LanState
  /** Where a LAN-uploaded photo's verified bytes are. */
  imagePath: (sha256: string) => string
  log: (line: string) => void
  /** How often revocations, the clock and pending photos are looked at. */
  pollMs?: number
  /** A link with no terminal on its document and nothing left to send closes after this long. */
  idleMs?: number
}

export class Forwarder {
  private readonly links = new Map<string, UpstreamLink>()
  /** One multiplexed connection per identity the links speak as: each customer, and the lab (key ''). */
  private readonly uplinks = new Map<string, MuxUplink>()
  private readonly idleTimers = new Map<string, NodeJS.Timeout>()
  /** Terminals (LAN sockets) open on each document. */
  private readonly terminals = new Map<string, number>()
  private catalogLink: UpstreamLink | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private polling: Promise<void> | null = null
  private keyRegistered = false
  private offsetMs: number
  private readonly muxUrl: string

  constructor(private readonly options: ForwarderOptions) {
    this.offsetMs = Number(options.state.meta('clock-offset') ?? 0)
    this.muxUrl = options.relayUrl.replace(/^http/, 'ws') + MUX_PATH
  }

  /** Milliseconds to add to this machine's clock to read the relay's (measured at the last poll, kept across restarts). */
  get clockOffsetMs(): number {
    return this.offsetMs
  }

  async start(): Promise<void> {
    const { options } = this
    this.catalogLink = new UpstreamLink({
      uplink: this.uplinkOf(null), room: { kind: 'catalog', name: 'catalog' }, principal: { kind: 'lab', labId: options.labId },
      rooms: options.rooms, log: options.log,
      // The relay is back: fetch sign-outs and the clock, and pass on waiting photos, at once.
      onConnected: () => void this.poll(),
    })
    await this.catalogLink.start()
    // Documents with changes the relay may not have: a restart, or a crash, resumes them.
    for (const { room, user } of options.state.dirtyLinks()) {
      const name = parseRoom(room)
      if (name) await this.ensure(name, user, true)
    }
    this.pollTimer = setInterval(() => void this.poll(), options.pollMs ?? 10_000)
    this.pollTimer.unref()
    void this.poll()
  }

  /** A terminal opened one of its customer's documents: pass it on as long as needed. */
  terminalJoined(room: RoomName, user: string): Promise<void> {
    this.terminals.set(room.name, (this.terminals.get(room.name) ?? 0) + 1)
    return this.ensure(room, user)
  }

  /** A terminal left a document: the link goes once nothing is left to send and nobody is on it. */
  terminalLeft(room: RoomName): void {
    const count = (this.terminals.get(room.name) ?? 1) - 1
    if (count > 0) this.terminals.set(room.name, count)
    else this.terminals.delete(room.name)
    this.maybeIdle(room.name)
  }

  private async ensure(room: RoomName, user: string, resumed = false): Promise<void> {
    if (room.kind !== 'user' && room.kind !== 'order') return
    this.cancelIdle(room.name)
    const existing = this.links.get(room.name)
    if (existing && existing.user === user) { existing.nudge(); return }
    if (existing) {
      // Another customer's link on an order nobody owned here yet (a mistyped or guessed id): the
      // owner's link wins, and a link refused by the relay goes by itself.
      const owner = await this.options.rooms.borrow(room, (loaded) => loaded.facts().owner)
      if (owner === existing.user || (owner !== null && owner !== user) || this.links.get(room.name) !== existing) { existing.nudge(); return }
      this.drop(room.name, existing)
    }
    const { options } = this
    options.state.link(room.name, user)
    const principal: Principal = { kind: 'user', userId: user }
    const link = new UpstreamLink({
      uplink: this.uplinkOf(user), room, principal, rooms: options.rooms, log: options.log,
      onDirty: (dirty) => {
        options.state.setDirty(room.name, dirty)
        if (!dirty) this.maybeIdle(room.name)
      },
      onRefused: (event, token) => {
        this.drop(room.name, link)
        if (event.code === Close.Unauthorized.code) {
          // Signed out or expired: a token problem, not the document's. It stays dirty and is
          // passed on with the customer's next token (their next connection, or after a restart).
          options.state.forgetToken(user, token)
          return
        }
        options.state.setDirty(room.name, false) // not this customer's document at the relay: nothing to pass on
        void this.passOnAsOwner(room, link)
      },
      onWriteRefused: () => void this.passOnAsOwner(room, link),
    })
    this.links.set(room.name, link)
    await link.start()
    if (resumed) link.markDirty()
  }

  /**
   * After the relay refused `link` or a write passed on through it: when the store's copy has
   * another owner by now, the document goes on as theirs. Two customers can join an order here
   * before its owner's first write arrives (the second one's link then replaces the first, the
   * owner still unknown); the owner's writes were then passed on as the other customer, refused,
   * and the order stayed in the store until its owner connected again.
   */
  private async passOnAsOwner(room: RoomName, link: UpstreamLink): Promise<void> {
    const owner = await this.options.rooms.borrow(room, (loaded) => loaded.facts().owner).catch(() => null)
    const current = this.links.get(room.name)
    if (owner === null || owner === link.user || (current !== undefined && current !== link) || this.options.state.token(owner) === null) return
    if (current === link) this.drop(room.name, link)
    this.options.log(`lan: ${room.name} is ${owner}'s: passed on as theirs`)
    await this.ensure(room, owner, true)
  }

  /** A photo arrived over the LAN: pass it on to the relay as its customer. */
  photoArrived(sha256: string, user: string): void {
    this.options.state.addUpload(sha256, user)
    void this.poll()
  }

  get linkCount(): number {
    return this.links.size
  }

  /** Sockets open to the relay for customers' documents and the catalog (tests and figures read it). */
  get socketCount(): number {
    let count = 0
    for (const uplink of this.uplinks.values()) count += uplink.socketCount
    return count
  }

  /** The connection documents are passed on through as `user` (null: as the lab). */
  private uplinkOf(user: string | null): MuxUplink {
    const key = user ?? ''
    let uplink = this.uplinks.get(key)
    if (!uplink) {
      const { options } = this
      const token = user === null ? () => options.labKey : () => options.state.token(user)
      uplink = new MuxUplink({ url: this.muxUrl, token, log: (line) => options.log(`lan: ${line}`) })
      this.uplinks.set(key, uplink)
    }
    return uplink
  }

  /** Stops a link (if it is still the room's) and, with a customer's last link, their connection. */
  private drop(room: string, link: UpstreamLink): void {
    link.stop()
    if (this.links.get(room) === link) this.links.delete(room)
    const user = link.user
    if (user === null || [...this.links.values()].some((other) => other.user === user)) return
    this.uplinks.get(user)?.close()
    this.uplinks.delete(user)
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer)
    for (const timer of this.idleTimers.values()) clearTimeout(timer)
    this.catalogLink?.stop()
    for (const link of this.links.values()) link.stop()
    this.links.clear()
    for (const uplink of this.uplinks.values()) uplink.close()
    this.uplinks.clear()
    await this.polling?.catch(() => {})
  }

  private maybeIdle(room: string): void {
    const link = this.links.get(room)
    if (!link || link.dirty || this.terminals.has(room) || this.idleTimers.has(room)) return
    const timer = setTimeout(() => {
      this.idleTimers.delete(room)
      const current = this.links.get(room)
      if (current !== link || link.dirty || this.terminals.has(room)) return
      this.drop(room, link)
      this.options.state.unlink(room)
    }, this.options.idleMs ?? 30_000)
    timer.unref()
    this.idleTimers.set(room, timer)
  }

  private cancelIdle(room: string): void {
    const timer = this.idleTimers.get(room)
    if (timer) { clearTimeout(timer); this.idleTimers.delete(room) }
  }

  /** One round of what goes over HTTP: the key, revocations with the clock, pending photos. */
  private poll(): Promise<void> {
    this.polling ??= this.pollOnce().catch((error: Error) => {
      this.options.log(`lan: passing on to the relay: ${error.message}; orders and photos wait in the store`)
    }).finally(() => { this.polling = null })
    return this.polling
  }

  private async pollOnce(): Promise<void> {
    const { options } = this
    const auth = { authorization: `Bearer ${options.labKey}` }
    // Three independent steps: one failing (an old relay without /api/labs/keys, say) does not stop the others.
    const problems: string[] = []
    if (!this.keyRegistered) {
      try {
        const res = await fetch(`${options.relayUrl}/api/labs/keys`, {
          method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ publicKey: options.signingKey.publicJwk }), signal: AbortSignal.timeout(10_000),
        })
        if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text()}`)
        this.keyRegistered = true
      } catch (error) {
        problems.push(`registering the lab node's stamp key: ${(error as Error).message}`)
      }
    }
    try {
      await this.fetchRevocations(auth)
    } catch (error) {
      problems.push(`sign-outs: ${(error as Error).message}`)
    }
    for (const { sha256, user } of options.state.pendingUploads()) {
      try {
        await this.pushPhoto(sha256, user)
      } catch (error) {
        problems.push(`photo ${sha256.slice(0, 12)}…: ${(error as Error).message}`)
      }
    }
    if (problems.length) throw new Error(problems.join('; '))
  }

  private async fetchRevocations(auth: Record<string, string>): Promise<void> {
    const { options } = this
    for (;;) {
      const after = options.state.meta('revocations') ?? '0'
      const sentAt = Date.now()
      const res = await fetch(`${options.relayUrl}/api/labs/revocations?after=${after}`, { headers: auth, signal: AbortSignal.timeout(10_000) })
      const receivedAt = Date.now()
      if (!res.ok) throw new Error(`revocations: HTTP ${res.status}`)
      const body = await res.json() as { now: number; last: number; more: boolean; revoked: Array<{ sid: string; expiresAt: number }> }
      options.state.revoke(body.revoked, body.last)
      // The relay's clock at the middle of the round trip, against ours: what in-store stamps add.
      this.offsetMs = Math.round(body.now - (sentAt + receivedAt) / 2)
      options.state.setMeta('clock-offset', String(this.offsetMs))
      if (!body.more) break
    }
  }

  private async pushPhoto(sha256: string, user: string): Promise<void> {
    const { options } = this
    const token = options.state.token(user)
    if (!token) return // waits for the customer's next connection with a valid token
    const file = options.imagePath(sha256)
    const size = await stat(file).then((s) => s.size, () => null)
    if (size === null) {
      options.log(`lan: photo ${sha256.slice(0, 12)}… is no longer in the store's files; the customer's device uploads it again`)
      options.state.uploadDone(sha256, user)
      return
    }
    const res = await fetch(`${options.relayUrl}/api/images/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: createReadStream(file) as unknown as BodyInit, duplex: 'half', signal: AbortSignal.timeout(300_000),
    } as RequestInit)
    if (res.ok) {
      options.state.uploadDone(sha256, user)
      options.log(`lan: photo ${sha256.slice(0, 12)}… passed on to the relay`)
      return
    }
    if (res.status === 401) { options.state.forgetToken(user, token); return }
    if (res.status === 400 || res.status === 413) {
      // The relay will never take these bytes (its limit is lower than ours, say): say so once and drop it.
      options.log(`lan: the relay refused photo ${sha256.slice(0, 12)}…: HTTP ${res.status} ${await res.text()}`)
      options.state.uploadDone(sha256, user)
      return
    }
    throw new Error(`photo ${sha256.slice(0, 12)}…: HTTP ${res.status}`)
  }
}
