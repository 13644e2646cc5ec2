// Server-side liveness for sync sockets: a phone that walks out of the store or loses its radio
// rarely closes its socket, and TCP may take many minutes to notice. Every interval each socket
// is pinged; one that has not answered the previous ping is terminated, which releases its room.
// Stock clients (browsers, ws) answer pings by themselves. One timer for all sockets. A socket
// paused by its customer's quota (quota.ts) is skipped: its pong waits unread behind its messages.
import type { WebSocket, WebSocketServer } from 'ws'

const alive = new WeakMap<WebSocket, boolean>()

export interface Heartbeat {
  /** Starts watching a socket just accepted. */
  watch(ws: WebSocket): void
  stop(): void
}

export function startHeartbeat(wss: WebSocketServer, intervalMs = 30_000): Heartbeat {
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (ws.isPaused) { alive.set(ws, true); continue }
      if (alive.get(ws) === false) { ws.terminate(); continue }
      alive.set(ws, false)
      ws.ping()
    }
  }, intervalMs)
  timer.unref()
  return {
    watch(ws) {
      alive.set(ws, true)
      ws.on('pong', () => alive.set(ws, true))
    },
    stop: () => clearInterval(timer),
  }
}
