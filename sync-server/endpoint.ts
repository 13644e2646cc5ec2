// The y-websocket endpoint of an HTTP(S) server, shared by the relay and a lab node's in-store
// server: `/sync/<room>` upgrades are accepted (any other path gets a 404), watched by the
// heartbeat, and refused with a close code when the token or the room name is missing or wrong.
// Refusals travel as close codes, not HTTP statuses: stock y-websocket stops retrying on 44xx.
// `/sync-mux` carries many rooms on one socket (mux-socket.ts); each of its rooms is handed to
// `accepted` as a socket of its own, so whoever serves sync serves both alike.
// Each customer's sockets are counted and their messages charged here (quota.ts), in one place.
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { Close, type CloseEvent } from '../shared/errors.ts'
import { parseRoom, type Room as RoomName } from '../shared/schema.ts'
import { bearerToken } from './respond.ts'
import type { Session } from './connection.ts'
import { startHeartbeat } from './heartbeat.ts'
import type { Limits } from '../shared/limits.ts'
import { Quotas } from './quota.ts'
import { MuxSocket } from './mux-socket.ts'

/** The path of the multiplexed endpoint (`?token=` or a bearer header, as `/sync/<room>`). */
export const MUX_PATH = '/sync-mux'

export interface SyncSocket {
  ws: WebSocket
  session: Session
  room: RoomName
  /** The bearer token the session came from, for re-checks while the socket lives. */
  token: string
}

export interface SyncEndpointOptions {
  maxMessageBytes: number
  heartbeatMs?: number
  /** Sockets and message rates per customer (relay config `limits`); none when not given. */
  limits?: Pick<Limits, 'socketsPerCustomer' | 'writesPerSecond' | 'writeBytesPerSecond'> & Partial<Pick<Limits, 'socketBufferBytes'>>
  authenticate(token: string | null): Session | null
  /** A reason to turn every socket away for now (checked first), or null. */
  unavailable?(): CloseEvent | null
  /** A socket with a valid session on a well-formed room name. */
  accepted(socket: SyncSocket): void
}

export function serveSync(server: Server, options: SyncEndpointOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes * 2 })
  const heartbeat = startHeartbeat(wss, options.heartbeatMs)
  const quotas = options.limits ? new Quotas(options.limits) : null
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://sync')
    const mux = url.pathname === MUX_PATH
    if (!mux && !url.pathname.startsWith('/sync/')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    const token = bearerToken(req, url)
    const session = options.authenticate(token)
    const room = mux ? null : syncRoomOf(url)
    wss.handleUpgrade(req, socket, head, (ws) => {
      heartbeat.watch(ws)
      const refusal = options.unavailable?.() ?? (!session ? Close.Unauthorized : !mux && !room ? Close.Forbidden : null)
      if (refusal) return ws.close(refusal.code, refusal.reason)
      if (quotas && !admit(quotas, ws, session!)) return
      if (mux) {
        new MuxSocket(ws, {
          session: session!, token: token!, quotas, socketBufferBytes: options.limits?.socketBufferBytes,
          unavailable: () => options.unavailable?.() ?? null,
          accepted: (channel) => options.accepted(channel),
        })
        return
      }
      options.accepted({ ws, session: session!, room: room!, token: token! })
    })
  })
  return {
    close() {
      heartbeat.stop()
      for (const client of wss.clients) client.terminate()
    },
  }
}

/**
 * Counts the socket against its customer's quota, or closes it with "retry later" when they hold
 * as many as they may. Every message is charged before the connection sees it (listeners run in
 * the order added), so a customer sending too fast stops being read (quota.ts).
 */
function admit(quotas: Quotas, ws: WebSocket, session: Session): boolean {
  const principal = session.principal
  if (!quotas.admit(principal, ws)) {
    ws.close(Close.TooManySockets.code, Close.TooManySockets.reason)
    return false
  }
  ws.once('close', () => quotas.release(principal, ws))
  ws.on('message', (data: Buffer) => quotas.charge(principal, data.length))
  return true
}

/**
 * The room a `/sync/<room>` upgrade asks for, or null when the path names none (a malformed
 * %-escape included: no room name has one).
 */
function syncRoomOf(url: URL): RoomName | null {
  if (!url.pathname.startsWith('/sync/')) return null
  try {
    return parseRoom(decodeURIComponent(url.pathname.slice('/sync/'.length)))
  } catch {
    return null
  }
}
