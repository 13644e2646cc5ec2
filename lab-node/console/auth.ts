// The operator token: compared in constant time (as hashes, so the length says nothing either),
// and a client that keeps guessing is told to wait. It comes as `Authorization: Bearer <token>`
// (the page's API calls, scripts) or HTTP Basic with the token as password and any user name (a
// browser opening the page: it cannot send a Bearer header on navigation, and it sends the Basic
// credentials it was given with every later request to the console, API calls included).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ConsoleRefusal } from './errors.ts'

/** Wrong tokens one address may send per minute before it gets 429. */
const MAX_FAILURES = 20
const WINDOW_MS = 60_000
/** Addresses remembered at most: a flood of addresses cannot grow the map without bound. */
const MAX_TRACKED = 10_000

const digest = (value: string) => createHash('sha256').update(value).digest()

export class OperatorAuth {
  private readonly expected: Buffer
  private readonly failures = new Map<string, { count: number; since: number }>()

  constructor(token: string, private readonly now: () => number = Date.now) {
    if (token.length < 8) throw new Error('the operator token must be at least 8 characters')
    this.expected = digest(token)
  }

  /** Throws 401 (or 429 after too many wrong tokens) unless the request carries the token (Bearer, or Basic's password). */
  check(req: IncomingMessage): void {
    const address = req.socket.remoteAddress ?? ''
    const failed = this.failures.get(address)
    if (failed && this.now() - failed.since > WINDOW_MS) this.failures.delete(address)
    const recent = this.failures.get(address)
    if (recent && recent.count >= MAX_FAILURES) throw new ConsoleRefusal(429, 'too many wrong tokens; wait a minute')
    const given = tokenOf(req.headers.authorization ?? '')
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return
    if (this.failures.size >= MAX_TRACKED) this.failures.clear()
    this.failures.set(address, { count: (recent?.count ?? 0) + 1, since: recent?.since ?? this.now() })
    throw new ConsoleRefusal(401, given === undefined ? 'the operator token is required (Authorization: Bearer, or Basic with the token as password)' : 'wrong operator token')
  }
}

/** The token an Authorization header carries: Bearer's, or the password of Basic (`user:token`, base64); undefined when none. */
function tokenOf(header: string): string | undefined {
  const bearer = /^Bearer (.{1,512})$/.exec(header)?.[1]
  if (bearer !== undefined) return bearer
  const basic = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header)?.[1]
  if (basic === undefined) return undefined
  const pair = Buffer.from(basic, 'base64').toString('utf8')
  const colon = pair.indexOf(':')
  return colon >= 0 && colon < pair.length - 1 ? pair.slice(colon + 1) : undefined
}
