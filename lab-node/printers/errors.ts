// The typed errors every Printer raises, so the lab node decides "retry later", "fix the
// order" or "fix the lab" by class, never by parsing messages.

/** Base of every printer error; `uri` names the printer it came from. */
export class PrinterError extends Error {
  override name = 'PrinterError'
  constructor(readonly uri: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * The printer could not be reached or did not answer in time (ECONNREFUSED, ECONNRESET,
 * timeouts, HTTP 503). Nothing is known about what it did with the request: retry later, and
 * after a failed submit ask findJobs() before sending again.
 */
export class PrinterUnreachableError extends PrinterError {
  override name = 'PrinterUnreachableError'
  constructor(uri: string, message: string, readonly code?: string, options?: { cause?: unknown }) {
    super(uri, message, options)
  }
}

/**
 * Something answered, but not in IPP: garbage, a truncated reply, an unexpected HTTP status or
 * a TLS failure. Usually a wrong URI or a broken device; retrying the same request rarely helps.
 */
export class PrinterProtocolError extends PrinterError {
  override name = 'PrinterProtocolError'
}

/** The printer answered with an unsuccessful IPP status; `status` is its name. */
export class PrinterRejectedError extends PrinterError {
  override name = 'PrinterRejectedError'
  constructor(uri: string, readonly status: string, message: string) {
    super(uri, message)
  }
}

/** The printer does not take this media or document format (a lab configuration problem). */
export class PrinterUnsupportedError extends PrinterRejectedError {
  override name = 'PrinterUnsupportedError'
  constructor(uri: string, status: string, message: string, readonly unsupported: Record<string, unknown> = {}) {
    super(uri, status, message)
  }
}

/** The printer does not know this job (never existed, or forgotten after a restart or purge). */
export class PrinterJobNotFoundError extends PrinterRejectedError {
  override name = 'PrinterJobNotFoundError'
  constructor(uri: string, readonly jobId: string, message = `printer ${uri} has no job ${jobId}`) {
    super(uri, 'client-error-not-found', message)
  }
}

/** The printer is in state `stopped` (out of paper, door open…): retry later. */
export class PrinterStoppedError extends PrinterError {
  override name = 'PrinterStoppedError'
  constructor(uri: string, readonly reasons: string[]) {
    super(uri, `printer ${uri} is stopped${reasons.length ? ` (${reasons.join(', ')})` : ''}`)
  }
}

/** withRetry gave up; the message says after how many attempts, `cause` is the last error. */
export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError'
  constructor(readonly attempts: number, readonly lastError: unknown) {
    const why = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError)
    super(`gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}`, { cause: lastError })
  }
}

/** A job followed for longer than allowed; `lastState` is what the printer said last, if anything. */
export class JobFollowTimeoutError extends PrinterError {
  override name = 'JobFollowTimeoutError'
  constructor(uri: string, readonly jobId: string, readonly timeoutMs: number, readonly lastState: string | undefined, options?: { cause?: unknown }) {
    super(uri, `job ${jobId} on ${uri} did not end within ${timeoutMs} ms (last state: ${lastState ?? 'unknown'})`, options)
  }
}
