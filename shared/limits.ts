// What one customer, one address or one socket may take of a server (README "Limits"): the
// defaults, and the floors below which a relay could not serve its own app. Pure data, shared by
// the relay, the lab node's in-store server and the sync core.

/**
 * What one customer, one address or one socket may take of a server (README "Limits"). Every
 * field is optional in the file; DEFAULT_LIMITS fills the rest.
 */
export interface Limits {
  /** One photo, PUT or resumable. */
  imageBytes: number
  /** Resumable uploads a customer has started and not finished, in bytes declared. */
  pendingUploadBytes: number
  /** An order document, as stored: a write that would take it past this is refused. */
  orderDocBytes: number
  /** A user document (the customer's list of orders and profile). */
  userDocBytes: number
  /** Sync writes per second per customer, over all their sockets (bursts of 10 s worth). */
  writesPerSecond: number
  /** Bytes of sync writes per second per customer, over all their sockets (bursts of 10 s worth). */
  writeBytesPerSecond: number
  /** Sync sockets open at once per customer. */
  socketsPerCustomer: number
  /** Bytes queued to one sync socket that its reader has not taken: past this it is cut (4508). */
  socketBufferBytes: number
  /** HTTP and WebSocket connections open at once from one address. */
  connectionsPerAddress: number
  /** HTTP and WebSocket connections open at once in all. */
  connections: number
  /** Failed sign-ins per account within 15 minutes before it answers 429 (with back-off). */
  signInFailuresPerAccount: number
  /** Sign-in and sign-up attempts per address per minute. */
  signInsPerAddress: number
  /** Password hashes computed at once, off the event loop; more wait (a bounded queue, then 503). */
  passwordHashConcurrency: number
  /** Seconds to receive a request's headers. */
  headersTimeoutSeconds: number
  /** Seconds to receive a whole request, body included (large photos over slow links go by tus, in parts). */
  requestTimeoutSeconds: number
  /** Seconds a connection may stay silent (no byte either way) before it is closed. */
  idleTimeoutSeconds: number
  /**
   * How long a submitted order waits for photos that have not reached the relay (ISO 8601 duration,
   * from when the relay first saw the submission); then it is refused naming them.
   */
  photoWait: string
}

/** The limits that are whole numbers with a floor (all but the durations). */
export type CountLimit = Exclude<keyof Limits, 'photoWait'>

const MiB = 1024 * 1024

export const DEFAULT_LIMITS: Limits = {
  imageBytes: 50 * MiB,
  pendingUploadBytes: 256 * MiB,
  // A 500-print order with its edit history takes ~135 KB; the relay's worst case for one write
  // is about 0.35 ms per KiB (bench/event-loop-block.ts), so these also bound one message's cost.
  orderDocBytes: 256 * 1024,
  userDocBytes: 256 * 1024,
  writesPerSecond: 50,
  writeBytesPerSecond: 1 * MiB,
  socketsPerCustomer: 64,
  socketBufferBytes: 4 * MiB,
  connectionsPerAddress: 256,
  connections: 4096,
  signInFailuresPerAccount: 10,
  signInsPerAddress: 60,
  passwordHashConcurrency: 2,
  headersTimeoutSeconds: 30,
  requestTimeoutSeconds: 600,
  idleTimeoutSeconds: 60,
  photoWait: 'P7D',
}

/** The lowest value each limit may be set to: below it the relay could not serve its own app. */
export const LIMIT_FLOORS: Record<CountLimit, number> = {
  imageBytes: 1024,
  pendingUploadBytes: 1024,
  orderDocBytes: 64 * 1024,
  userDocBytes: 64 * 1024,
  writesPerSecond: 1,
  writeBytesPerSecond: 1024,
  socketsPerCustomer: 4,
  socketBufferBytes: 64 * 1024,
  connectionsPerAddress: 8,
  connections: 16,
  signInFailuresPerAccount: 1,
  signInsPerAddress: 1,
  passwordHashConcurrency: 1,
  headersTimeoutSeconds: 1,
  requestTimeoutSeconds: 1,
  idleTimeoutSeconds: 1,
}
