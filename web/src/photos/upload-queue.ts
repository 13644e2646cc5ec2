// Uploads the photos kept on this device, one at a time, resumably (tus): to the relay, or to the
// home store's lab node when only that one is reachable (it passes them on to the relay). A cut
// connection continues from the server's offset, failures retry with backoff, and going offline
// pauses until the connection returns. The original is dropped from the device once uploaded.
import { ObservableV2 } from 'lib0/observable'
import type { DetailedError } from 'tus-js-client'
import { getPhoto, markUploaded, photosToUpload, type StoredPhoto } from './photo-store.ts'

export type UploadStatus = 'waiting' | 'uploading' | 'offline' | 'retrying' | 'done' | 'failed'

export interface UploadState {
  sha256: string
  name: string
  status: UploadStatus
  sent: number
  total: number
  /** Why the last attempt failed, in words. */
  error?: string
  /** Epoch ms of the next attempt, while `retrying`. */
  retryAt?: number
  attempts: number
  /** Where the photo is going (or went): the relay or the home store's lab node. */
  via?: UploadVia
  /**
   * The server asked to be tried again later (507: its disk is full; 503, 429: busy): nothing is
   * wrong with the photo, the queue waits (Retry-After when given) and tries again by itself.
   */
  later?: 'full' | 'busy'
}

export type UploadVia = 'relay' | 'store'

export interface UploadQueueOptions {
  /** The server to upload to now (its HTTP origin): asked again before every attempt. */
  target: () => { url: string; via: UploadVia }
  token: string
  userId: string
  isOnline: () => boolean
  /** Bytes per PATCH: small enough that a cut connection loses little. */
  chunkBytes?: number
  /** Delay before attempt `attempt` (2, 3, …) after a failure. */
  backoffMs?: (attempt: number) => number
  now?: () => number
}

/** 1 s, 2 s, 4 s … up to 30 s, with ±25 % jitter so that many devices do not retry in step. */
export const defaultBackoff = (attempt: number): number => Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 2)) * (0.75 + Math.random() / 2)

/**
 * The upload in flight; `abort` stops it and settles its promise. `discard` also asks the server to
 * throw away what it has of it (tus termination): the customer does not want the photo sent.
 */
interface Slot { sha256: string; abort: (discard?: boolean) => void }

/** Uploads of a set of photos taken together, for one progress bar. */
export interface UploadSummary {
  /** Photos in the set this queue knows of (added on this device and not yet forgotten). */
  count: number
  done: number
  sent: number
  total: number
}

/** Runs `work` holding a Web Lock across this device's tabs; false when another tab holds it. */
async function withLock(name: string, work: () => Promise<void>): Promise<boolean> {
  if (!globalThis.navigator?.locks) {
    await work()
    return true
  }
  return navigator.locks.request(name, { ifAvailable: true }, async (lock) => {
    if (!lock) return false
    await work()
    return true
  })
}

/** Statuses that sending the same bytes again cannot fix. */
const PERMANENT = new Set([400, 403, 413, 460])

/**
 * Statuses that mean "not now": the server is out of disk (507) or busy (503, 429). Never final:
 * the queue retries after the server's Retry-After (or its own backoff when none is given).
 */
const LATER = new Set([429, 503, 507])

/** The longest Retry-After honoured: a bogus header must not park a photo for days. */
const MAX_RETRY_AFTER_MS = 10 * 60_000

export class UploadQueue extends ObservableV2<{ change: () => void; uploaded: (sha256: string) => void; unauthorized: () => void }> {
  private readonly states = new Map<string, UploadState>()
  private active: Slot | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false
  private readonly now: () => number

  constructor(private readonly options: UploadQueueOptions) {
    super()
    this.now = options.now ?? Date.now
  }

  /** Picks up what a previous visit left unfinished. */
  async start(): Promise<void> {
    for (const photo of await photosToUpload()) this.enqueue(photo)
  }

  enqueue(photo: Pick<StoredPhoto, 'sha256' | 'name' | 'bytes' | 'uploaded'>): void {
    if (photo.uploaded || this.states.has(photo.sha256)) return
    this.states.set(photo.sha256, { sha256: photo.sha256, name: photo.name, status: 'waiting', sent: 0, total: photo.bytes, attempts: 0 })
    this.changed()
    this.pump()
  }

  /** A snapshot: a new object after every change, so views can compare by identity. */
  state(sha256: string): UploadState | undefined {
    const state = this.states.get(sha256)
    return state && { ...state }
  }

  /** Photos not yet at the relay or the store's lab node. */
  get pending(): number {
    let count = 0
    for (const state of this.states.values()) if (state.status !== 'done') count++
    return count
  }

  /**
   * The connection came back: retry at once rather than at the end of the backoff, and pick up
   * photos another tab stored and did not finish (the Web Lock keeps two tabs off one photo).
   */
  wentOnline(): void {
    for (const state of this.states.values()) {
      if (state.status === 'offline' || state.status === 'retrying') this.update(state, { status: 'waiting', retryAt: undefined })
    }
    this.pump()
    void this.start().catch(() => undefined)
  }

  /** The connection went: stop the upload in flight (the relay keeps what it has). */
  wentOffline(): void {
    if (this.active) {
      const slot = this.active
      this.active = null
      slot.abort()
      const state = this.states.get(slot.sha256)
      if (state) this.update(state, { status: 'offline' })
    }
    for (const state of this.states.values()) if (state.status === 'waiting') this.update(state, { status: 'offline' })
  }

  /**
   * The customer removed the photo: its upload stops at once, what the server has of it is
   * discarded, and the queue forgets it. Removing it from the device is the library's part.
   */
  cancel(sha256: string): void {
    const slot = this.active
    if (slot?.sha256 === sha256) {
      this.active = null
      slot.abort(true)
    }
    if (this.states.delete(sha256)) this.changed()
    this.pump()
  }

  /** How far the uploads of `photos` (hashes; repeats count once) have got. */
  summary(photos: Iterable<string>): UploadSummary {
    const summary: UploadSummary = { count: 0, done: 0, sent: 0, total: 0 }
    for (const sha256 of new Set(photos)) {
      const state = this.states.get(sha256)
      if (!state) continue
      summary.count++
      if (state.status === 'done') summary.done++
      summary.sent += state.status === 'done' ? state.total : Math.min(state.sent, state.total)
      summary.total += state.total
    }
    return summary
  }

  retry(sha256: string): void {
    const state = this.states.get(sha256)
    if (state && (state.status === 'failed' || state.status === 'retrying')) {
      this.update(state, { status: 'waiting', error: undefined, retryAt: undefined })
      this.pump()
    }
  }

  override destroy(): void {
    this.destroyed = true
    if (this.timer) clearTimeout(this.timer)
    const slot = this.active
    this.active = null
    slot?.abort()
    super.destroy()
  }

  private changed(): void {
    if (!this.destroyed) this.emit('change', [])
  }

  private update(state: UploadState, patch: Partial<UploadState>): void {
    Object.assign(state, patch)
    this.changed()
  }

  /** Starts the next photo that is due, unless one is uploading or the device is offline. */
  private pump(): void {
    if (this.destroyed || this.active || this.timer) return
    if (!this.options.isOnline()) {
      for (const state of this.states.values()) if (state.status === 'waiting') this.update(state, { status: 'offline' })
      return
    }
    const now = this.now()
    let next: UploadState | undefined
    let soonest = Infinity
    for (const state of this.states.values()) {
      if (state.status === 'waiting' || state.status === 'offline') { next = state; break }
      if (state.status === 'retrying') {
        if ((state.retryAt ?? 0) <= now) { next = state; break }
        soonest = Math.min(soonest, state.retryAt!)
      }
    }
    if (next) void this.run(next)
    else if (soonest < Infinity) {
      this.timer = setTimeout(() => { this.timer = null; this.pump() }, soonest - now)
    }
  }

  private async run(state: UploadState): Promise<void> {
    const slot: Slot = { sha256: state.sha256, abort: () => undefined }
    this.active = slot
    this.update(state, { status: 'uploading', attempts: state.attempts + 1, error: undefined, retryAt: undefined, later: undefined })
    try {
      // One tab uploads a given photo at a time; the others see it done through the user document.
      const locked = await withLock(`labsync-upload-${state.sha256}`, () => this.attempt(state, slot))
      if (!locked && this.active === slot) this.update(state, { status: 'retrying', retryAt: this.now() + 5_000 })
    } catch (error) {
      if (this.active !== slot) return // aborted on purpose (offline, destroyed)
      const status = statusOf(error)
      if (status === 401 && state.via !== 'store') this.unauthorized(state)
      else if (LATER.has(status)) this.later(state, status, retryAfterMs(error, this.now()))
      else this.failed(state, describe(error, state.via), isPermanent(error))
    } finally {
      if (this.active === slot) this.active = null
      this.pump()
    }
  }

  private async attempt(state: UploadState, slot: Slot): Promise<void> {
    const { token } = this.options
    const target = this.options.target()
    this.update(state, { via: target.via })
    // Already there (from another tab or device): only the owner may read it, so 200 means ours.
    const head = await fetch(`${target.url}/api/images/${state.sha256}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })
    if (this.active !== slot) return
    if (head.status === 200) return this.finished(state)
    // A lab node's own session check may differ from the relay's; only the relay ends a session.
    if (head.status === 401 && target.via === 'relay') return this.unauthorized(state)
    const photo = await getPhoto(state.sha256)
    if (!photo?.original) {
      if (photo?.uploaded) return this.finished(state)
      return this.failed(state, 'The original photo is no longer on this device; please add it again.', true)
    }
    await this.upload(state, photo, slot, target.url)
    if (this.active === slot) await this.finished(state)
  }

  private async upload(state: UploadState, photo: StoredPhoto, slot: Slot, origin: string): Promise<void> {
    const { token, userId } = this.options
    const tus = await import('tus-js-client')
    const endpoint = `${origin}/api/uploads`
    await new Promise<void>((resolve, reject) => {
      const upload = new tus.Upload(photo.original!, {
        endpoint,
        chunkSize: this.options.chunkBytes ?? 1024 * 1024,
        retryDelays: [500, 1500],
        metadata: { sha256: photo.sha256, filename: photo.name, filetype: photo.type },
        headers: { authorization: `Bearer ${token}` },
        // The same photo of the same customer resumes the same upload, whatever tab started it.
        fingerprint: async () => `labsync:${userId}:${photo.sha256}:${endpoint}`,
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onShouldRetry: (error) => {
          const status = (error as DetailedError).originalResponse?.getStatus() ?? 0
          // "Not now" answers wait for the server's Retry-After in the queue, not tus's quick retries.
          return this.options.isOnline() && !PERMANENT.has(status) && !LATER.has(status) && status !== 401
        },
        onProgress: (sent, total) => { if (this.active === slot) this.update(state, { sent, total }) },
        onSuccess: () => resolve(),
        onError: reject,
      })
      slot.abort = (discard = false) => {
        void upload.abort(discard).catch(() => undefined)
        reject(new Error('aborted'))
      }
      if (this.active !== slot) return slot.abort()
      upload.findPreviousUploads().then((previous) => {
        if (this.active !== slot) return
        if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
        upload.start()
      }, reject)
    })
  }

  private async finished(state: UploadState): Promise<void> {
    await markUploaded(state.sha256)
    this.update(state, { status: 'done', sent: state.total, error: undefined })
    this.emit('uploaded', [state.sha256])
  }

  private unauthorized(state: UploadState): void {
    this.update(state, { status: 'failed', error: 'Your session has ended; sign in again to upload.' })
    this.emit('unauthorized', [])
  }

  /** The server said "not now": wait at least as long as it asked, then try again by itself. */
  private later(state: UploadState, status: number, retryAfter: number | null): void {
    if (!this.options.isOnline()) return this.update(state, { status: 'offline', error: undefined })
    const backoff = (this.options.backoffMs ?? defaultBackoff)(state.attempts + 1)
    const delay = Math.max(backoff, retryAfter ?? 0)
    const later = status === 507 ? 'full' : 'busy'
    const server = state.via === 'store' ? 'Your store' : 'The print service'
    const error = later === 'full'
      ? `${server} is temporarily out of space for photos; the upload will try again by itself.`
      : `${server} is busy; the upload will try again by itself.`
    this.update(state, { status: 'retrying', error, later, retryAt: this.now() + delay })
  }

  private failed(state: UploadState, error: string, permanent: boolean): void {
    if (permanent) return this.update(state, { status: 'failed', error })
    if (!this.options.isOnline()) return this.update(state, { status: 'offline', error: undefined })
    const delay = (this.options.backoffMs ?? defaultBackoff)(state.attempts + 1)
    this.update(state, { status: 'retrying', error, retryAt: this.now() + delay })
  }
}

function statusOf(error: unknown): number {
  return (error as DetailedError | undefined)?.originalResponse?.getStatus?.() ?? 0
}

/** A Retry-After header (seconds or an HTTP date) in ms from now, bounded; null when absent or unreadable. */
function retryAfterMs(error: unknown, now: number): number | null {
  const header = (error as DetailedError | undefined)?.originalResponse?.getHeader?.('Retry-After')
  if (!header) return null
  const ms = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - now
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null
}

function isPermanent(error: unknown): boolean {
  return PERMANENT.has(statusOf(error))
}

/** The server's `{error}` message where there is one, else a plain sentence. */
function describe(error: unknown, via: UploadVia = 'relay'): string {
  const server = via === 'store' ? 'your store' : 'the print service'
  const body = (error as DetailedError | undefined)?.originalResponse?.getBody?.()
  if (body) {
    try {
      const parsed = JSON.parse(body) as { error?: unknown }
      if (typeof parsed.error === 'string') return `${via === 'store' ? 'Your store' : 'The print service'} refused the photo: ${parsed.error}.`
    } catch { /* not JSON */ }
  }
  const status = statusOf(error)
  return status ? `The upload failed (${status}); retrying.` : `The connection to ${server} failed; retrying.`
}
