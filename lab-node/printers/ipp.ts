// The Printer for ipp:// and ipps:// URIs, over @sealsystems/ipp. Every request runs on its own
// agent under our own deadline, because the library hangs when a connection drops after the
// reply's headers; every reply's IPP status is checked, because IPP errors arrive as successes.
import http from 'node:http'
import https from 'node:https'
import ipp from '@sealsystems/ipp'
import type { IppGroup, IppMessage } from '@sealsystems/ipp'
import type { FoundJob, JobState, JobStatus, PrintJob, Printer, PrinterDescription, PrinterState } from './printer.ts'
import {
  PrinterJobNotFoundError, PrinterProtocolError, PrinterRejectedError, PrinterUnreachableError, PrinterUnsupportedError,
} from './errors.ts'

export interface IppPrinterOptions {
  /** Deadline for one request and its reply, in ms; default 10 000. */
  timeoutMs?: number
  /** `requesting-user-name` on every request; default `labsync`. */
  userName?: string
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_DPI = 300
/** Print-Job gets 1 ms more per KB of document: printers may answer only once it is spooled. */
const PRINT_JOB_MS_PER_KB = 1

/** Network failures after which the printer may well answer later. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN',
])

const JOB_STATES: Record<string, JobState> = {
  pending: 'pending', 'pending-held': 'held', processing: 'processing', 'processing-stopped': 'stopped',
  canceled: 'canceled', aborted: 'aborted', completed: 'completed',
}
const PRINTER_STATES = new Set<PrinterState>(['idle', 'processing', 'stopped'])

export class IppPrinter implements Printer {
  readonly uri: string
  private readonly timeoutMs: number
  private readonly userName: string
  private readonly secure: boolean
  /** Aborts for the requests under way, so close() can end them. */
  private readonly inFlight = new Set<(error: Error) => void>()
  private nextRequestId = 1
  private closed = false

  constructor(uri: string, options: IppPrinterOptions = {}) {
    let url: URL
    try {
      url = new URL(uri)
    } catch {
      throw new Error(`bad printer URI "${uri}": expected ipp://HOST[:PORT]/PATH or ipps://…`)
    }
    if (url.protocol !== 'ipp:' && url.protocol !== 'ipps:') throw new Error(`not an IPP printer URI: "${uri}"`)
    this.uri = uri
    this.secure = url.protocol === 'ipps:'
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.userName = options.userName ?? 'labsync'
  }

  async describe(): Promise<PrinterDescription> {
    const reply = await this.call('Get-Printer-Attributes', {
      'operation-attributes-tag': {
        'requesting-user-name': this.userName,
        'requested-attributes': [
          'printer-state', 'printer-state-reasons', 'media-supported', 'document-format-supported',
          'printer-resolution-default',
        ],
      },
    })
    const attrs = groups(reply['printer-attributes-tag'])[0] ?? {}
    const state = attrs['printer-state']
    if (typeof state !== 'string' || !PRINTER_STATES.has(state as PrinterState)) {
      throw new PrinterProtocolError(this.uri, `printer ${this.uri} reported no known printer-state (${String(state)})`)
    }
    return {
      state: state as PrinterState,
      stateReasons: list(attrs['printer-state-reasons']).map(String).filter((r) => r !== 'none'),
      media: list(attrs['media-supported']).map(text),
      formats: list(attrs['document-format-supported']).map(String),
      resolutionDpi: dpi(attrs['printer-resolution-default']) ?? DEFAULT_DPI,
    }
  }

  async submit(job: PrintJob): Promise<{ jobId: string }> {
    if (!Number.isInteger(job.copies) || job.copies < 1) throw new RangeError(`copies must be an integer from 1, not ${job.copies}`)
    const reply = await this.call('Print-Job', {
      'operation-attributes-tag': {
        'requesting-user-name': this.userName,
        'job-name': job.name,
        // Refuse rather than silently print on other media or fewer copies.
        'ipp-attribute-fidelity': true,
        'document-format': job.format,
      },
      'job-attributes-tag': job.sendMedia === false ? { copies: job.copies } : { copies: job.copies, media: job.media },
      data: job.document,
    }, this.timeoutMs + Math.ceil(job.document.length / 1024) * PRINT_JOB_MS_PER_KB)
    const jobId = groups(reply['job-attributes-tag'])[0]?.['job-id']
    if (typeof jobId !== 'number') throw new PrinterProtocolError(this.uri, `printer ${this.uri} accepted a job but sent no job-id`)
    return { jobId: String(jobId) }
  }

  async jobStatus(jobId: string): Promise<JobStatus> {
    if (!/^[1-9]\d{0,9}$/.test(jobId) || Number(jobId) > 0x7fffffff) {
      throw new PrinterJobNotFoundError(this.uri, jobId, `printer ${this.uri} has no job "${jobId}": IPP job ids are positive integers`)
    }
    let reply: IppMessage
    try {
      reply = await this.call('Get-Job-Attributes', {
        'operation-attributes-tag': {
          'job-id': Number(jobId),
          'requesting-user-name': this.userName,
          'requested-attributes': ['job-state', 'job-state-reasons'],
        },
      })
    } catch (error) {
      if (error instanceof PrinterRejectedError && error.status === 'client-error-not-found') throw new PrinterJobNotFoundError(this.uri, jobId)
      throw error
    }
    return this.jobStatusOf(groups(reply['job-attributes-tag'])[0] ?? {})
  }

  async findJobs(name: string): Promise<FoundJob[]> {
    const reply = await this.call('Get-Jobs', {
      'operation-attributes-tag': {
        'requesting-user-name': this.userName,
        'which-jobs': 'all',
        'requested-attributes': ['job-id', 'job-name', 'job-state', 'job-state-reasons'],
      },
    })
    return groups(reply['job-attributes-tag'])
      .filter((attrs) => typeof attrs['job-name'] === 'string' && text(attrs['job-name']) === name)
      .map((attrs) => ({ jobId: String(attrs['job-id']), name, ...this.jobStatusOf(attrs) }))
      .sort((a, b) => Number(a.jobId) - Number(b.jobId))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const abort of [...this.inFlight]) abort(new Error(`printer ${this.uri} was closed during the request`))
  }

  private jobStatusOf(attrs: IppGroup): JobStatus {
    const state = JOB_STATES[String(attrs['job-state'])]
    if (!state) throw new PrinterProtocolError(this.uri, `printer ${this.uri} reported no known job-state (${String(attrs['job-state'])})`)
    return { state, reasons: list(attrs['job-state-reasons']).map(String).filter((r) => r !== 'none') }
  }

  /** One IPP request: resolves with a successful reply, or rejects with a typed printer error. */
  private call(operation: string, message: IppMessage, timeoutMs = this.timeoutMs): Promise<IppMessage> {
    if (this.closed) return Promise.reject(new Error(`printer ${this.uri} is closed`))
    const id = this.nextRequestId++
    return new Promise<IppMessage>((resolve, reject) => {
      // Our own agent, so that giving up also closes the socket instead of leaking it.
      const agent = this.secure ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false })
      let settled = false
      const finish = (error: Error | null, reply?: IppMessage) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.inFlight.delete(finish)
        agent.destroy()
        if (error) reject(error)
        else resolve(reply!)
      }
      const timer = setTimeout(() => {
        finish(new PrinterUnreachableError(this.uri, `no answer from ${this.uri} to ${operation} within ${timeoutMs} ms`, 'ETIMEDOUT'))
      }, timeoutMs)
      this.inFlight.add(finish)
      try {
        // The library's own (idle) timeout is a backstop a little after ours, so ours speaks first.
        ipp.Printer(this.uri, { timeout: timeoutMs + 1000, agent }).execute(operation, { ...message, id }, (error, reply) => {
          if (error) finish(this.transportError(operation, error))
          else {
            try {
              finish(null, this.checkReply(operation, id, reply))
            } catch (checkError) {
              finish(checkError as Error)
            }
          }
        })
      } catch (error) {
        finish(this.transportError(operation, error as Error))
      }
    })
  }

  private checkReply(operation: string, id: number, reply: IppMessage): IppMessage {
    if (!reply || typeof reply.statusCode !== 'string' || reply.id !== id) {
      throw new PrinterProtocolError(this.uri, `printer ${this.uri} sent no valid IPP reply to ${operation}`)
    }
    const status = reply.statusCode
    if (status.startsWith('successful-')) return reply
    const said = text(groups(reply['operation-attributes-tag'])[0]?.['status-message'] ?? '')
    const unsupported = groups(reply['unsupported-attributes-tag'])[0] ?? {}
    const detail = Object.entries(unsupported).map(([k, v]) => `${k}=${list(v).join(',')}`).join(' ')
    const message = `printer ${this.uri} refused ${operation}: ${status}${said ? ` (${said})` : ''}${detail ? ` [${detail}]` : ''}`
    if (status === 'client-error-document-format-not-supported' || status === 'client-error-attributes-or-values-not-supported') {
      throw new PrinterUnsupportedError(this.uri, status, message, unsupported)
    }
    throw new PrinterRejectedError(this.uri, status, message)
  }

  /** Turns what the library or Node reports into "retry later" or "not a printer". */
  private transportError(operation: string, error: Error & { code?: string }): Error {
    const code = error?.code
    const what = `${operation} to ${this.uri}`
    if (code && UNREACHABLE_CODES.has(code)) {
      return new PrinterUnreachableError(this.uri, `printer unreachable: ${what} failed with ${code} (${error.message})`, code, { cause: error })
    }
    const httpStatus = /unexpected response status (\d+)/.exec(String(error?.message))?.[1]
    if (httpStatus === '503') {
      return new PrinterUnreachableError(this.uri, `printer busy: ${what} got HTTP 503`, 'HTTP503', { cause: error })
    }
    if (error?.message === 'NotEnoughData') {
      return new PrinterProtocolError(this.uri, `not an IPP reply: ${what} got a truncated or garbled answer`, { cause: error })
    }
    return new PrinterProtocolError(this.uri, `not an IPP reply: ${what} failed: ${code ? `${code} ` : ''}${error?.message ?? String(error)}`, { cause: error })
  }
}

/** A group that occurs once is an object, several times an array (one per job): always an array. */
function groups(value: IppGroup | IppGroup[] | undefined): IppGroup[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/** A 1setOf with one value arrives as that value, with several as an array. */
function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}

/** name/textWithLanguage arrive as `lang\u001evalue`: keep the value. */
function text(value: unknown): string {
  const s = String(value)
  const sep = s.indexOf('\u001e')
  return sep === -1 ? s : s.slice(sep + 1)
}

/** A resolution arrives as [x, y, 'dpi'|'dpcm'] (or several of them); the smaller axis, in dpi. */
function dpi(value: unknown): number | undefined {
  const res = Array.isArray(value) && Array.isArray(value[0]) ? value[0] : value
  if (!Array.isArray(res) || typeof res[0] !== 'number' || typeof res[1] !== 'number') return undefined
  const dots = Math.min(res[0], res[1])
  if (!(dots > 0)) return undefined
  return res[2] === 'dpcm' ? Math.round(dots * 2.54) : dots
}
