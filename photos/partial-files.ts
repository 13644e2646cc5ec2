// Unfinished tus uploads as files under <dataDir>/uploads (one machine, the lab node): tus's
// FileStore, the customers' quota counted in memory and rebuilt from the directory at start,
// stale uploads swept every hour, a full disk told apart from a client that went away.
import { createWriteStream } from 'node:fs'
import { readdir, rm, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ERRORS, type Upload } from '@tus/server'
import { FileStore } from '@tus/file-store'
import { isStorageFull } from '../sync-server/respond.ts'
import { PendingUploads } from './pending-uploads.ts'
import { OWNER_KEY, STALE_UPLOAD_MS, type PartialUploads } from './partial-uploads.ts'

const SWEEP_EVERY_MS = 60 * 60 * 1000

export interface PartialFilesOptions {
  dataDir: string
  /** limits.pendingUploadBytes: the most a customer's unfinished uploads may declare. */
  cap: number
  /** What a deferred length counts as: the largest photo. */
  limit: number
  now: () => number
  /** Unfinished uploads untouched this long are deleted; STALE_UPLOAD_MS (a day) unless given. */
  staleUploadMs?: number
}

export class PartialFiles implements PartialUploads {
  readonly datastore: UploadFiles
  private readonly directory: string
  private readonly pending: PendingUploads
  /** The upload each creation request reserved, to give it back when the creation fails. */
  private readonly reservedBy = new WeakMap<IncomingMessage, string>()
  private readonly sweeping: NodeJS.Timeout
  /** The first sweep, then the count of what is left on disk: creations wait for it. */
  private readonly restored: Promise<void>

  constructor(private readonly options: PartialFilesOptions) {
    this.directory = join(options.dataDir, 'uploads')
    this.pending = new PendingUploads(options.cap)
    this.datastore = new UploadFiles(this.directory, (id) => this.discard(id)) // creates the directory
    const sweepNow = () => this.sweep().catch((error) => console.error('relay: upload sweep failed:', error))
    this.sweeping = setInterval(sweepNow, SWEEP_EVERY_MS)
    this.sweeping.unref()
    this.restored = sweepNow().then(() => this.restore()).catch((error) => console.error('relay: counting unfinished uploads failed:', error))
  }

  async reserve(id: string, owner: string, bytes: number, req: IncomingMessage | undefined): Promise<void> {
    await this.restored
    this.pending.reserve(id, owner, bytes)
    if (req) this.reservedBy.set(req, id)
  }

  async settled(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A creation refused after its reservation (a full disk, say) left no upload to count.
    const reserved = this.reservedBy.get(req)
    if (reserved && res.statusCode >= 300) {
      const exists = await stat(join(this.directory, `${reserved}.json`)).then(() => true, () => false)
      if (!exists) this.pending.release(reserved)
    }
  }

  terminated(id: string): void {
    this.pending.release(id)
  }

  async assemble(upload: Upload): Promise<string> {
    return join(this.directory, upload.id)
  }

  async discard(id: string): Promise<void> {
    await rm(join(this.directory, id), { force: true })
    await rm(join(this.directory, `${id}.json`), { force: true })
    this.pending.release(id)
  }

  async close(): Promise<void> {
    clearInterval(this.sweeping)
    await this.restored
  }

  /** Counts the unfinished uploads on disk (after the first sweep removed stale ones). */
  private async restore(): Promise<void> {
    const names = await readdir(this.directory).catch(() => [] as string[])
    for (const name of names) {
      const id = /^([0-9a-f]{32})\.json$/.exec(name)?.[1]
      if (!id) continue
      const upload = await this.datastore.getUpload(id).catch(() => null)
      const owner = upload?.metadata?.[OWNER_KEY]
      if (upload && owner) this.pending.add(id, owner, upload.size ?? this.options.limit)
    }
  }

  /**
   * Deletes unfinished uploads nobody touched for staleMs. (Not tus's expiration extension: with
   * it, tus re-reads an upload after onUploadFinish, and we delete finished uploads there.)
   */
  private async sweep(): Promise<void> {
    const staleMs = this.options.staleUploadMs ?? STALE_UPLOAD_MS
    const names = await readdir(this.directory).catch(() => [] as string[])
    const ids = new Set(names.map((name) => /^([0-9a-f]{32})(?:\.json)?$/.exec(name)?.[1]).filter((id) => id !== undefined))
    const touched = (path: string) => stat(path).then((s) => s.mtimeMs, () => 0)
    for (const id of ids) {
      const last = Math.max(await touched(join(this.directory, id)), await touched(join(this.directory, `${id}.json`)))
      if (this.options.now() - last > staleMs) await this.discard(id)
    }
  }
}

/**
 * tus's FileStore, except that a full disk is told apart from a client that went away (tus's
 * own write turns every error into one 500), and a creation that failed half-way leaves nothing.
 */
class UploadFiles extends FileStore {
  constructor(directory: string, private readonly discard: (id: string) => Promise<void>) {
    super({ directory })
  }

  override async create(upload: Upload): Promise<Upload> {
    try {
      return await super.create(upload)
    } catch (error) {
      await this.discard(upload.id)
      throw error
    }
  }

  /** FileStore.write, keeping a full disk's error (onResponseError answers it 507). */
  override async write(readable: IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    let received = 0
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length
        callback(null, chunk)
      },
    })
    try {
      await pipeline(readable, counter, createWriteStream(join(this.directory, id), { flags: 'r+', start: offset }))
    } catch (error) {
      if (isStorageFull(error)) throw error
      throw ERRORS.FILE_WRITE_ERROR
    }
    return offset + received
  }
}
