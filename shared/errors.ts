// Every WebSocket close code and every typed error labsync raises at its edges, in one place.
// Close codes: 44xx means "do not retry" (stock y-websocket 3 stops reconnecting on them),
// 45xx means "retry later".

export interface CloseEvent { code: number; reason: string }

export const Close = {
  /** Malformed frame: not a y-websocket message, truncated, or an update Yjs cannot decode. */
  BadMessage: { code: 4400, reason: 'Malformed message' },
  /** No token, or a token that is unknown, expired or revoked. */
  Unauthorized: { code: 4401, reason: 'Unauthorized' },
  /** The room does not exist or the token may not read it: both answer alike. */
  Forbidden: { code: 4403, reason: 'Forbidden' },
  /** A frame over the relay's size limit. */
  MessageTooBig: { code: 4413, reason: 'Message too big' },
  /** Too many refused writes on one socket: a client that keeps forging is cut off. */
  TooManyRefusals: { code: 4429, reason: 'Too many refused writes' },
  /** The relay is at its limit of connections or customer sockets: try again later. */
  TooManySockets: { code: 4529, reason: 'Too many connections, retry later' },
  /** The reader did not take what was sent to it fast enough (socket buffer over its limit). */
  SlowReader: { code: 4508, reason: 'Not reading fast enough, retry later' },
  /** The document could not be loaded from storage; nothing was sent. */
  LoadFailed: { code: 4500, reason: 'Document could not be loaded, retry later' },
  /** The relay is shutting down. */
  ShuttingDown: { code: 4503, reason: 'Relay shutting down, retry later' },
  /** The lab node's in-store server has not reached the relay yet (no catalog, no stamp key). */
  NotReady: { code: 4503, reason: 'The lab node has not reached the relay yet, retry later' },
} as const satisfies Record<string, CloseEvent>

/** Whether a close code means "do not retry" (44xx): the peer refused, and asking again will not help. */
export function isFinalClose(code: number): boolean {
  return code >= 4400 && code < 4500
}

/** Whether a close code means "retry later" (45xx): the peer was busy, full, loading or going down. */
export function isRetryLaterClose(code: number): boolean {
  return code >= 4500 && code < 4600
}

/** A request the caller may not make: HTTP 403 / close 4403. */
export class RightsError extends Error {
  override name = 'RightsError'
}

/** A request the relay does not understand: HTTP 400 / close 4400. */
export class BadRequestError extends Error {
  override name = 'BadRequestError'
}

/** Bad configuration or command-line arguments: a one-line message, exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** An HTTP-facing error with its status; the one place statuses are chosen is http/respond.ts. */
export class HttpError extends Error {
  override name = 'HttpError'
  /** Seconds after which a retry may succeed (sent as Retry-After): 429, 503, 507. */
  constructor(readonly status: number, message: string, readonly retryAfter?: number) {
    super(message)
  }
}
