// The Printer for file:DIR URIs: each job becomes <dir>/<jobId>-<name>.jpg next to a sidecar
// <jobId>-<name>.json with its copies and media; for demos, tests and labs whose print software
// watches a folder. Jobs complete at once.
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FoundJob, JobStatus, PrintJob, Printer, PrinterDescription } from './printer.ts'
import { PrinterJobNotFoundError, PrinterUnreachableError, PrinterUnsupportedError } from './errors.ts'

export interface FilePrinterOptions {
  /** Media listed by describe(); any media is accepted and recorded. */
  media?: string[]
  now?: () => Date
}

/** What the sidecar holds; other programs reading the folder may rely on these fields. */
export interface FileJobRecord {
  jobId: string
  name: string
  copies: number
  media: string
  format: string
  submittedAt: string
}

/** The PWG sizes photo labs print on; a folder takes any media, these are only what it lists. */
const DEFAULT_MEDIA = [
  'oe_photo-l_3.5x5in', 'na_index-4x6_4x6in', 'na_5x7_5x7in', 'oe_photo-2l_5x7in', 'na_govt-letter_8x10in',
  'iso_a6_105x148mm', 'iso_a5_148x210mm', 'iso_a4_210x297mm', 'iso_a3_297x420mm', 'na_letter_8.5x11in',
]
const FORMATS = ['image/jpeg']

export class FilePrinter implements Printer {
  readonly uri: string
  private readonly media: string[]
  private readonly now: () => Date
  /** Jobs between their sidecar and their document: `processing`, not `aborted`. */
  private readonly writing = new Set<string>()
  /** Submits run one at a time so job ids never collide. */
  private queue: Promise<unknown> = Promise.resolve()
  private lastJobId: number | undefined
  private tempCounter = 0
  private closed = false

  constructor(readonly dir: string, options: FilePrinterOptions = {}) {
    this.dir = resolve(dir)
    this.uri = `file:${this.dir}`
    this.media = options.media ?? DEFAULT_MEDIA
    this.now = options.now ?? (() => new Date())
  }

  /** `file:///abs/dir`, `file:/abs/dir` or `file:relative/dir` → the folder's path. */
  static dirFromUri(uri: string): string {
    if (!/^file:/i.test(uri)) throw new Error(`not a file printer URI: "${uri}"`)
    const dir = uri.startsWith('file://') ? fileURLToPath(uri) : decodeURIComponent(uri.slice('file:'.length))
    if (!dir) throw new Error(`file printer URI "${uri}" names no folder: expected file:DIR`)
    return dir
  }

  async describe(): Promise<PrinterDescription> {
    this.assertOpen()
    await this.ensureDir()
    return { state: 'idle', stateReasons: [], media: [...this.media], formats: [...FORMATS], resolutionDpi: 300 }
  }

  async submit(job: PrintJob): Promise<{ jobId: string }> {
    this.assertOpen()
    if (!FORMATS.includes(job.format)) {
      throw new PrinterUnsupportedError(this.uri, 'client-error-document-format-not-supported',
        `printer ${this.uri} refused Print-Job: it writes only ${FORMATS.join(', ')}, not ${job.format}`, { 'document-format': job.format })
    }
    if (!Number.isInteger(job.copies) || job.copies < 1) throw new RangeError(`copies must be an integer from 1, not ${job.copies}`)
    if (!job.media) throw new PrinterUnsupportedError(this.uri, 'client-error-attributes-or-values-not-supported', `printer ${this.uri} refused Print-Job: no media`)
    const run = this.queue.then(() => this.write(job))
    this.queue = run.catch(() => undefined)
    return run
  }

  async jobStatus(jobId: string): Promise<JobStatus> {
    this.assertOpen()
    const record = (await this.records((fileName) => fileName.startsWith(`${jobId}-`))).find((r) => r.jobId === jobId)
    if (!record) throw new PrinterJobNotFoundError(this.uri, jobId)
    return (await this.statusOf([record]))[0]
  }

  async findJobs(name: string): Promise<FoundJob[]> {
    this.assertOpen()
    const records = (await this.records()).filter((r) => r.name === name)
    const statuses = await this.statusOf(records)
    return records.map((r, i) => ({ jobId: r.jobId, name: r.name, ...statuses[i] }))
  }

  async close(): Promise<void> {
    this.closed = true
    await this.queue
  }

  private async write(job: PrintJob): Promise<{ jobId: string }> {
    await this.ensureDir()
    if (this.lastJobId === undefined) {
      this.lastJobId = (await this.records()).reduce((max, r) => Math.max(max, Number(r.jobId) || 0), 0)
    }
    const jobId = String(++this.lastJobId)
    const base = `${jobId}-${safeName(job.name)}`
    const record: FileJobRecord = {
      jobId, name: job.name, copies: job.copies, media: job.media, format: job.format, submittedAt: this.now().toISOString(),
    }
    this.writing.add(jobId)
    try {
      // The sidecar first: a watcher that sees the .jpg always finds its copies and media, and a
      // crash in between leaves a job that reads `aborted` rather than a print without a record.
      await this.writeAtomically(`${base}.json`, Buffer.from(JSON.stringify(record, null, 2) + '\n'))
      try {
        await this.writeAtomically(`${base}.jpg`, job.document)
      } catch (error) {
        // No document, no job: the caller sends it again, and the folder keeps no record without a print.
        await rm(join(this.dir, `${base}.json`), { force: true }).catch(() => undefined)
        throw error
      }
    } finally {
      this.writing.delete(jobId)
    }
    return { jobId }
  }

  /** Write to a dot-file, flush it, then rename: readers see the whole file or none. */
  private async writeAtomically(fileName: string, bytes: Buffer): Promise<void> {
    const temp = join(this.dir, `.${fileName}.${process.pid}-${++this.tempCounter}.tmp`)
    try {
      const handle = await open(temp, 'wx')
      try {
        await handle.writeFile(bytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, join(this.dir, fileName))
    } catch (error) {
      await rm(temp, { force: true })
      throw this.folderError(error)
    }
  }

  /** The jobs recorded in the folder (those whose sidecar's file name passes `only`), oldest first. */
  private async records(only: (fileName: string) => boolean = () => true): Promise<FileJobRecord[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw this.folderError(error)
    }
    const records: FileJobRecord[] = []
    for (const name of names) {
      if (!/^\d+-.*\.json$/.test(name) || !only(name)) continue
      try {
        const record = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as FileJobRecord
        if (typeof record.jobId === 'string' && typeof record.name === 'string') records.push(record)
      } catch {
        // Not one of ours (or removed meanwhile): the folder is shared with other programs.
      }
    }
    return records.sort((a, b) => Number(a.jobId) - Number(b.jobId))
  }

  private async statusOf(records: FileJobRecord[]): Promise<JobStatus[]> {
    const names = new Set(await readdir(this.dir).catch(() => [] as string[]))
    return records.map((r): JobStatus => {
      if (names.has(`${r.jobId}-${safeName(r.name)}.jpg`)) return { state: 'completed', reasons: [] }
      if (this.writing.has(r.jobId)) return { state: 'processing', reasons: [] }
      return { state: 'aborted', reasons: ['document-missing'] }
    })
  }

  private async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true })
    } catch (error) {
      throw this.folderError(error)
    }
  }

  private folderError(error: unknown): Error {
    const code = (error as NodeJS.ErrnoException)?.code
    // A missing or read-only folder is usually an unmounted share: worth retrying later.
    return new PrinterUnreachableError(this.uri, `printer folder ${this.dir} is not writable: ${(error as Error)?.message ?? error}`, code, { cause: error })
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`printer ${this.uri} is closed`)
  }
}

/** A job name as it appears in file names: letters, digits, `.`, `_` and `-`, at most 100. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 100) || 'job'
}
