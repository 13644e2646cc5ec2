// The upload quota: the bytes each customer's unfinished tus uploads declared, held against
// limits.pendingUploadBytes (photos/tus.ts counts, reserves and releases).
import { HttpError } from '../shared/errors.ts'

/** How long a customer over the upload quota waits: about what finishing another photo takes. */
const QUOTA_RETRY_SECONDS = 60

/** 429 for a customer whose unfinished uploads declare `pending` bytes, and a new one `bytes`, over `cap`. */
export function overQuota(cap: number, pending: number, bytes: number): HttpError {
  return new HttpError(429,
    `unfinished uploads may declare at most ${cap} bytes per customer; yours declare ${pending} and this one ${bytes}: ` +
    'finish or delete some first (unfinished uploads untouched for 24 hours are deleted)', QUOTA_RETRY_SECONDS)
}

/**
 * The bytes each customer's unfinished uploads declared (Upload-Length; a deferred length counts
 * as the largest photo). An upload is counted from its creation until it is finished, deleted
 * by its customer, or swept; the count is rebuilt from the upload directory at start.
 */
export class PendingUploads {
  private readonly uploads = new Map<string, { owner: string; bytes: number }>()
  private readonly byOwner = new Map<string, number>()
  constructor(private readonly cap: number) {}

  /** Counts a new upload; 429 when it would take its customer's unfinished uploads past the cap. */
  reserve(id: string, owner: string, bytes: number): void {
    const pending = this.byOwner.get(owner) ?? 0
    if (pending + bytes > this.cap) throw overQuota(this.cap, pending, bytes)
    this.add(id, owner, bytes)
  }

  /** Counts an upload found on disk at start, whatever the cap (it was admitted then). */
  add(id: string, owner: string, bytes: number): void {
    if (this.uploads.has(id)) return
    this.uploads.set(id, { owner, bytes })
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + bytes)
  }

  release(id: string): void {
    const upload = this.uploads.get(id)
    if (!upload) return
    this.uploads.delete(id)
    const left = this.byOwner.get(upload.owner)! - upload.bytes
    if (left <= 0) this.byOwner.delete(upload.owner)
    else this.byOwner.set(upload.owner, left)
  }
}
