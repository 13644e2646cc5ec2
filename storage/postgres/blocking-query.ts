// Synchronous PostgreSQL statements for the interfaces that are synchronous today (ImageStore's
// has/get/isOwner/addOwner/record): a thread runs each one while the caller waits for its answer.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'

/** A statement failed in PostgreSQL; `code` is its SQLSTATE. */
export class PgStatementError extends Error {
  constructor(message: string, readonly code: string | null) { super(message) }
}

/** No answer within the time limit: the database or its thread is gone. */
export class PgUnavailableError extends Error {}

/**
 * Blocks the event loop for one round trip per statement (about a tenth of a millisecond on
 * loopback, as long as a SQLite read from the page cache takes many times over): a stopgap until
 * the ImageStore interface is asynchronous, kept to statements that touch one or two rows.
 */
export class BlockingQuery {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4))
  private readonly port: MessagePort
  private readonly worker: Worker
  private lastId = 0

  private constructor(connectionString: string, private readonly timeoutMs: number) {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.worker = new Worker(new URL('./blocking-query.js', import.meta.url), {
      workerData: { connectionString, flag: this.flag, port: port2 },
      transferList: [port2],
    })
    this.worker.unref() // an idle connection never keeps the process alive
  }

  /** Resolves once the thread is connected, so the first statement does not wait for that. */
  static open(connectionString: string, timeoutMs = 10_000): Promise<BlockingQuery> {
    const query = new BlockingQuery(connectionString, timeoutMs)
    return new Promise((resolve, reject) => {
      // On the worker's own channel: the statements' port never gets a listener, so no answer
      // is ever dispatched as an event instead of being read by rows().
      query.worker.once('message', (message: { ready: boolean; error?: string }) => {
        if (message.ready) resolve(query)
        else { void query.close(); reject(new PgUnavailableError(`cannot connect: ${message.error}`)) }
      })
      query.worker.once('error', reject)
    })
  }

  /** The statement's rows; throws PgStatementError or PgUnavailableError. */
  rows<Row>(sql: string, params: unknown[] = []): Row[] {
    const id = ++this.lastId
    const deadline = Date.now() + this.timeoutMs
    Atomics.store(this.flag, 0, 0)
    this.port.postMessage({ id, sql, params })
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0 || Atomics.wait(this.flag, 0, 0, left) === 'timed-out') {
        throw new PgUnavailableError(`no answer from PostgreSQL within ${this.timeoutMs} ms`)
      }
      Atomics.store(this.flag, 0, 0)
      // Answers to statements that timed out before are skipped: each carries its statement's id.
      for (let reply = this.receive<Row>(); reply; reply = this.receive<Row>()) {
        if (reply.id !== id) continue
        if (reply.error !== undefined) throw new PgStatementError(reply.error, reply.code ?? null)
        return reply.rows!
      }
    }
  }

  private receive<Row>(): { id: number; rows?: Row[]; error?: string; code?: string | null } | undefined {
    return receiveMessageOnPort(this.port)?.message
  }

  async close(): Promise<void> {
    this.port.close()
    await this.worker.terminate()
  }
}
