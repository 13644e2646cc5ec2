// What one address may hold of a sync server's HTTP server (the relay's, a lab node's in-store
// one): timeouts on headers, whole requests and silence, and caps on connections open at once,
// per address and in all (WebSocket upgrades arrive as HTTP connections, so they count too).
// Without them ~1,000 slow-body connections took every file descriptor and a sign-in failed.
import { readFileSync } from 'node:fs'
import type { Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { Limits } from '../shared/limits.ts'

/** Descriptors kept back from the open-file limit for SQLite, photos, uploads and the runtime. */
const RESERVED_FDS = 256

/** node:http options for the limits' timeouts (Node checks them every connectionsCheckingInterval). */
export function httpTimeouts(limits: Pick<Limits, 'headersTimeoutSeconds' | 'requestTimeoutSeconds'>): ServerOptions {
  const requestTimeout = limits.requestTimeoutSeconds * 1000
  // Node refuses a headers timeout longer than the request timeout; the request's bounds both.
  const headersTimeout = Math.min(limits.headersTimeoutSeconds * 1000, requestTimeout)
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(250, Math.min(5_000, headersTimeout / 4)) }
}

/**
 * The open-file soft limit of this process (`ulimit -n`), from /proc/self/limits; null where
 * that cannot be read (not Linux) or says "unlimited".
 */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | null {
  let text: string
  try {
    text = read()
  } catch {
    return null
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1]
  const n = Number(soft)
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

/**
 * The cap on connections in all: the configured one, lowered so that connections can never take
 * the descriptors SQLite and the photo files need (a cap above the open-file limit is no cap).
 */
export function totalConnectionCap(configured: number, fdLimit: number | null): number {
  if (fdLimit === null) return configured
  const reserve = Math.min(RESERVED_FDS, Math.floor(fdLimit / 4))
  return Math.max(1, Math.min(configured, fdLimit - reserve))
}

export interface ConnectionCaps {
  /** Connections open now, for /healthz and tests. */
  readonly open: number
  /** Connections cut because a cap was reached, since start. */
  readonly refused: number
}

/**
 * Counts every connection the server accepts, by remote address, and destroys at once one that
 * would pass `perAddress` or `total`: an over-cap connection costs one accept and one close, never
 * a request parsed or a body read. Refusals are logged at most once a minute, in one line.
 */
export interface Caps {
  perAddress: number
  total: number
  name?: string
  /**
   * Addresses the per-address cap does not apply to: a trusted balancer in front (relay
   * `--trust-proxy`) carries many clients' connections, and caps them per client itself.
   */
  exempt?: (address: string) => boolean
}

export function capConnections(server: Server, caps: Caps, log: (line: string) => void, now: () => number = Date.now): ConnectionCaps {
  const byAddress = new Map<string, number>()
  let open = 0
  let refused = 0
  let unlogged = 0
  let loggedAt = -Infinity

  const noteRefusal = (address: string, reason: string) => {
    refused++
    unlogged++
    if (now() - loggedAt < 60_000) return
    log(`${caps.name ?? 'relay'}: refused ${unlogged} connection(s) over the cap (latest from ${address}: ${reason})`)
    unlogged = 0
    loggedAt = now()
  }

  server.on('connection', (socket: Socket) => {
    const address = addressOf(socket)
    const fromAddress = byAddress.get(address) ?? 0
    if (open >= caps.total || (fromAddress >= caps.perAddress && !caps.exempt?.(address))) {
      noteRefusal(address, open >= caps.total ? `${caps.total} open in all` : `${caps.perAddress} open from this address`)
      socket.destroy()
      return
    }
    open++
    byAddress.set(address, fromAddress + 1)
    socket.once('close', () => {
      open--
      const left = byAddress.get(address)! - 1
      if (left === 0) byAddress.delete(address) // the map holds only addresses with connections open
      else byAddress.set(address, left)
    })
  })
  return {
    get open() { return open },
    get refused() { return refused },
  }
}

/**
 * Everything above on a server created with httpTimeouts(limits): silent connections closed
 * after idleTimeoutSeconds, and the connection caps (lowered to fit the open-file limit, which is
 * logged). `name` starts each log line. What the server holds open now, and has refused.
 */
export function limitConnections(server: Server, limits: Limits, name: string, log: (line: string) => void, fdLimit = openFileLimit(), exempt?: (address: string) => boolean): ConnectionCaps {
  // A connection silent this long (no byte either way) is destroyed; sync sockets are exempt
  // (ws clears the timeout on upgrade) and watched by the heartbeat instead.
  server.setTimeout(limits.idleTimeoutSeconds * 1000)
  server.keepAliveTimeout = Math.min(server.keepAliveTimeout, limits.idleTimeoutSeconds * 1000)
  const total = totalConnectionCap(limits.connections, fdLimit)
  if (total < limits.connections) {
    log(`${name}: at most ${total} connections at once, not limits.connections ${limits.connections}: the open-file limit (ulimit -n) is ${fdLimit}`)
  }
  return capConnections(server, { perAddress: Math.min(limits.connectionsPerAddress, total), total, name, exempt }, log)
}

/** The client's address; an IPv4 client of a dual-stack socket counts as its IPv4 address. */
export function addressOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}
