// Where a tus upload's bytes wait until its last one arrives: files under the relay's data dir (one
// machine, the lab node) or PostgreSQL shared by every relay of a cluster (partial-postgres.ts).
// photos/tus.ts speaks tus; a PartialUploads keeps the bytes and the customers' upload quota.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DataStore, Upload } from '@tus/server'

/** The upload metadata key the relay stamps with the creator; any client-sent value is replaced. */
export const OWNER_KEY = 'owner'

/**
 * Unfinished uploads untouched this long are deleted. A day covers a phone that lost its signal
 * or was put away overnight; one offline longer starts that photo again (tus-js-client creates a
 * new upload when its old one is gone), which costs bytes, not correctness. Meanwhile an upload
 * nobody will finish holds its customer's quota and the relay's disk for a day, not a week.
 */
export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000

export interface PartialUploads {
  /** tus's store of unfinished uploads (create, write, getUpload, remove). */
  readonly datastore: DataStore
  /**
   * Counts a new upload (id, its customer, the bytes it declares) before tus creates it; HttpError
   * 429 over limits.pendingUploadBytes. `req` is the creation request, to give the bytes back in
   * settled() when the creation fails after this. (A store may instead count inside create().)
   */
  reserve(id: string, owner: string, bytes: number, req: IncomingMessage | undefined): Promise<void>
  /** After tus answered `req`: what a creation refused after reserve() had reserved is given back. */
  settled(req: IncomingMessage, res: ServerResponse): Promise<void>
  /** A customer's DELETE ended the upload (tus removed it): its bytes no longer count. */
  terminated(id: string): void
  /**
   * The finished upload's bytes as one file under the data dir, for the photo intake to hash and
   * adopt (it moves or removes the file); discard() removes what is left either way.
   */
  assemble(upload: Upload): Promise<string>
  /** Forgets an upload and its bytes: finished, refused, or stale. */
  discard(id: string): Promise<void>
  close(): Promise<void>
}
