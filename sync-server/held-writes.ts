// Writes a room holds while one of them waits for an asynchronous check (RoomHooks.beforeWrite
// answering with a promise: facts in a shared database, in a cluster): the writes after it wait
// too, so a room still applies writes in the order they came.
export type Answered<T> = { value: T } | { error: Error }

export class HeldWrites {
  private queue: Array<() => void> | null = null

  /** Whether a write is waiting for its answer now. */
  get holding(): boolean {
    return this.queue !== null
  }

  /** Runs `write` once the held write and those queued before it have run. */
  later(write: () => void): void {
    this.queue!.push(write)
  }

  /** Holds writes until `answer` settles; then `resume` gets it, and the queued writes run in order. */
  hold<T>(answer: Promise<T>, resume: (answered: Answered<T>) => void): void {
    this.queue = []
    const release = (answered: Answered<T>) => {
      const queued = this.queue ?? []
      this.queue = null
      resume(answered)
      // One of them may be held in turn: the rest then queue behind it again (later()).
      for (const write of queued) if (this.queue === null) write(); else this.later(write)
    }
    answer.then((value) => release({ value }), (error: Error) => release({ error }))
  }
}
