// The one Printer interface the lab node prints through (IPP or a folder), each method with its
// promise. Every implementation passes the printer conformance suite; open.ts picks one by URI.

export type PrinterState = 'idle' | 'processing' | 'stopped'

/** IPP job states without the `pending-held` / `processing-stopped` spelling. */
export type JobState = 'pending' | 'held' | 'processing' | 'stopped' | 'completed' | 'aborted' | 'canceled'

/** The states after which a job never changes again. */
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['completed', 'aborted', 'canceled'])

export interface PrinterDescription {
  state: PrinterState
  /** IPP printer-state-reasons without `none`, e.g. `media-empty-error`; [] when all is well. */
  stateReasons: string[]
  /** Media keywords the printer offers (PWG names such as `oe_photo-l_3.5x5in`). */
  media: string[]
  /** MIME types the printer accepts as documents. */
  formats: string[]
  /** The resolution to render print files at; 300 when the printer says nothing. */
  resolutionDpi: number
}

export interface PrintJob {
  /** Names the job on the printer; findJobs() finds it by this name, so make it unique per item. */
  name: string
  document: Buffer
  /** MIME type of `document`, e.g. `image/jpeg`. */
  format: string
  /** An integer from 1. */
  copies: number
  /** A media keyword from describe().media. */
  media: string
  /**
   * false: the job carries no media attribute. Set for media the operator stated for a printer
   * that does not list it itself (a raw queue): such a printer refuses or ignores a media it does
   * not know, and prints on what it holds.
   */
  sendMedia?: boolean
}

export interface JobStatus { state: JobState; reasons: string[] }

export interface FoundJob extends JobStatus { jobId: string; name: string }

export interface Printer {
  /** What the printer is, as printed in errors and the history journal. */
  readonly uri: string
  /**
   * The printer's state and what it can print, asked afresh on every call.
   * Rejects with PrinterUnreachableError when it cannot be asked.
   */
  describe(): Promise<PrinterDescription>
  /**
   * Sends one document as one job with `copies` and `media`. When it resolves, the printer has
   * accepted the job and owns it: follow it with jobStatus(). It is not idempotent: when it
   * rejects with anything but PrinterRejectedError the job may or may not exist, so ask
   * findJobs(job.name) before sending again. A media or format the printer does not take is
   * PrinterUnsupportedError; another refusal is PrinterRejectedError with the IPP status.
   */
  submit(job: PrintJob): Promise<{ jobId: string }>
  /**
   * The job's current state. An id the printer does not know (never sent, or forgotten after a
   * restart or purge) is PrinterJobNotFoundError.
   */
  jobStatus(jobId: string): Promise<JobStatus>
  /**
   * Every job the printer still remembers whose name is exactly `name`, any state, oldest first:
   * after a crash, "did I already send this item?". A printer forgets finished jobs after a
   * while (ippeveprinter: a minute), so [] only means "not known here": the journal must record
   * an item as sent before relying on this.
   */
  findJobs(name: string): Promise<FoundJob[]>
  /** Releases connections and timers; calls still running reject, later calls throw. */
  close(): Promise<void>
}
