// The operator token: compared in constant time (as hashes, so the length says nothing either),
// and a client that keeps guessing is told to wait.
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

  /** Throws 401 (or 429 after too many wrong tokens) unless the request carries the token as `Authorization: Bearer`. */
  check(req: IncomingMessage): void {
    const address = req.socket.remoteAddress ?? ''
    const failed = this.failures.get(address)
    if (failed && this.now() - failed.since > WINDOW_MS) this.failures.delete(address)
    const recent = this.failures.get(address)
    if (recent && recent.count >= MAX_FAILURES) throw new ConsoleRefusal(429, 'too many wrong tokens; wait a minute')
    const header = req.headers.authorization ?? ''
    const given = /^Bearer (.{1,512})$/.exec(header)?.[1]
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return
    if (this.failures.size >= MAX_TRACKED) this.failures.clear()
    this.failures.set(address, { count: (recent?.count ?? 0) + 1, since: recent?.since ?? this.now() })
    throw new ConsoleRefusal(401, given === undefined ? 'the operator token is required (Authorization: Bearer)' : 'wrong operator token')
  }
}
