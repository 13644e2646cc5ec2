// A room's messages held back behind its writes: each is sent only once every write made before
// it is durable (an echo means durable), and waiters are told when the writes before them are.

export class Outbox<P> {
  /** Writes made, and the last one durable. */
  made = 0
  private done = 0
  private queue: Array<{ after: number; peer: P | null; message: Uint8Array }> = []
  private waiters: Array<{ after: number; resolve: () => void; reject: (error: Error) => void }> = []

  constructor(private readonly deliver: (peer: P | null, message: Uint8Array) => void) {}

  /** Every write made so far is durable. */
  get settled(): boolean {
    return this.done >= this.made
  }

  /** A write was made: `message` goes to every peer once it is durable. Returns its number. */
  write(message: Uint8Array): number {
    this.queue.push({ after: ++this.made, peer: null, message })
    return this.made
  }

  /** Sends to one peer now, or after every write made so far is durable. */
  send(peer: P, message: Uint8Array): void {
    if (this.settled && this.queue.length === 0) this.deliver(peer, message)
    else this.queue.push({ after: this.made, peer, message })
  }

  /** Resolves once every write made so far is durable. */
  whenDurable(): Promise<void> {
    if (this.settled) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ after: this.made, resolve, reject }))
  }

  /** Write `writeNumber` (and so every one before it) is durable. */
  durable(writeNumber: number): void {
    this.done = writeNumber
    while (this.queue.length > 0 && this.queue[0].after <= writeNumber) {
      const { peer, message } = this.queue.shift()!
      this.deliver(peer, message)
    }
    while (this.waiters.length > 0 && this.waiters[0].after <= writeNumber) this.waiters.shift()!.resolve()
  }

  /** Nothing held will be sent: storage failed. */
  fail(error: Error): void {
    this.queue = []
    for (const waiter of this.waiters.splice(0)) waiter.reject(error)
  }
}
