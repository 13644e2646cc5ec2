// The store's terminals on the in-store sync endpoint: customers only, turned away (retry later)
// until the relay's key is known; each accepted socket syncs with the local copy, and a customer's
// own document is passed on to the relay as them while a terminal has it open (forwarder.ts).
import type { Server } from 'node:http'
import type { WebSocket } from 'ws'
import { Close } from '../../shared/errors.ts'
import type { Limits } from '../../shared/limits.ts'
import type { Room as RoomName } from '../../shared/schema.ts'
import { Connection } from '../../sync-server/connection.ts'
import { serveSync } from '../../sync-server/endpoint.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import type { InStoreIdentity } from './identity.ts'
import type { Forwarder } from './forwarder.ts'
import type { LanState } from './state.ts'

export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024

export interface TerminalsOptions {
  rooms: Rooms
  identity: InStoreIdentity
  forwarder: Forwarder
  state: LanState
  limits: Limits
  heartbeatMs?: number
  now: () => number
  log: (line: string) => void
}

/** Serves `/sync/<room>` on `server` to the store's terminals. */
export function serveTerminals(server: Server, options: TerminalsOptions): { close(): void } {
  const { rooms, identity, state, limits, now } = options
  // Each open terminal's connection and token: a sign-out learned from the relay closes its sockets
  // at once, not when the terminal next sends something (a stock client: every 15 s, or never).
  const open = new Map<Connection, string>()
  const stopWatching = state.onRevoked(() => {
    for (const [connection, token] of open) if (identity.authenticate(token) === null) connection.close(Close.Unauthorized)
  })
  const endpoint = serveSync(server, {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    heartbeatMs: options.heartbeatMs,
    limits,
    authenticate: (token) => identity.authenticate(token),
    unavailable: () => (identity.ready ? null : Close.NotReady),
    accepted: ({ ws, session, room, token }) => {
      const connection = new Connection(ws, session, room, rooms, { maxMessageBytes: MAX_MESSAGE_BYTES, now, limits, stillValid: () => identity.authenticate(token) !== null })
      open.set(connection, token)
      ws.once('close', () => open.delete(connection))
      const principal = session.principal
      if (principal.kind !== 'user') return // identity.authenticate lets in customers only
      state.rememberToken(principal.userId, token, session.expiresAt)
      if (room.kind === 'user' || room.kind === 'order') passOn(ws, room, principal.userId, options)
    },
  })
  return {
    close() {
      stopWatching()
      endpoint.close()
    },
  }
}

/** Passes the document on to the relay as this customer, once it is known they may read it here. */
function passOn(ws: WebSocket, room: RoomName, userId: string, options: TerminalsOptions): void {
  let joined = false
  ws.once('close', () => { if (joined) options.forwarder.terminalLeft(room) })
  const principal = { kind: 'user' as const, userId }
  options.rooms.borrow(room, (loaded) => loaded.mayRead(principal)).then((mayRead) => {
    if (!mayRead || ws.readyState !== ws.OPEN) return
    joined = true
    return options.forwarder.terminalJoined(room, userId)
  }).catch((error: Error) => options.log(`lan: ${room.name}: ${error.message}`))
}
