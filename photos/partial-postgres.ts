// Unfinished tus uploads in PostgreSQL (cluster mode): every relay reads and continues every
// upload, so a balancer may send an upload's requests to any relay, and a relay that dies mid-
// upload costs the customer the chunk in flight, not the photo. The quota is the sum of the rows.
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type pg from 'pg'
import { DataStore, ERRORS, Upload } from '@tus/server'
import { migrate, type PgMigrations } from '../storage/postgres/migrate.ts'
import { overQuota } from './pending-uploads.ts'
import { OWNER_KEY, STALE_UPLOAD_MS, type PartialUploads } from './partial-uploads.ts'
import type { PartialFilesOptions } from './partial-files.ts'
import { inTransaction } from '../storage/postgres/transaction.ts'

/** The uploads' schema steps (append, never edit, once released). */
export const UPLOAD_PG_MIGRATIONS: PgMigrations = {
  component: 'uploads',
  steps: [
    `CREATE TABLE photo_uploads (
       id            text PRIMARY KEY,
       owner         text NOT NULL,
       size          bigint,
       declared      bigint NOT NULL,
       upload_offset bigint NOT NULL DEFAULT 0,
       metadata      jsonb NOT NULL,
       created_at    bigint NOT NULL,
       touched_at    bigint NOT NULL
     );
     CREATE INDEX photo_uploads_by_owner ON photo_uploads (owner);
     CREATE INDEX photo_uploads_by_touch ON photo_uploads (touched_at);
     CREATE TABLE photo_upload_chunks (
       upload text NOT NULL REFERENCES photo_uploads (id) ON DELETE CASCADE,
       start  bigint NOT NULL,
       data   bytea NOT NULL,
       PRIMARY KEY (upload, start)
     );`,
  ],
}

/**
 * Bytes per committed chunk: a cut connection loses at most this much of what reached the relay,
 * and a PATCH of tus-js-client's 1 MiB default is four commits.
 */
export const CHUNK_BYTES = 256 * 1024
/** Advisory lock class of a customer's upload quota (apart from migrate.ts's LOCK_CLASS values). */
const QUOTA_LOCK_CLASS = 0x7e10
const SWEEP_EVERY_MS = 60 * 60 * 1000

interface UploadRow { id: string; size: string | number | null; upload_offset: string | number; metadata: Record<string, string | null>; created_at: string | number }

export class PartialPostgres implements PartialUploads {
  readonly datastore: PgUploadRows
  private readonly sweeping: NodeJS.Timeout
  private readonly directory: string
  /** The schema brought up to date, then the first sweep: close() waits for them (the pool closes next). */
  private readonly started: Promise<void>

  constructor(private readonly pool: pg.Pool, private readonly options: PartialFilesOptions) {
    this.directory = join(options.dataDir, 'uploads')
    // Brought up to date on first use; a failed attempt (PostgreSQL away) is tried again by the next.
    let schema: Promise<void> | null = null
    const ready = () => (schema ??= migrate(pool, UPLOAD_PG_MIGRATIONS).then(() => undefined, (error: unknown) => {
      schema = null
      throw error
    }))
    this.datastore = new PgUploadRows(pool, ready, options)
    const sweepNow = () => this.sweep().catch((error: Error) => console.error(`relay: upload sweep failed: ${error.message}`))
    this.sweeping = setInterval(sweepNow, SWEEP_EVERY_MS)
    this.sweeping.unref()
    this.started = sweepNow()
  }

  /** Nothing to do: create() counts the upload under its customer's lock (two relays cannot both pass). */
  async reserve(): Promise<void> {}
  async settled(): Promise<void> {}
  terminated(): void {}

  /** The committed chunks in order, then the tail write() held back, into <dataDir>/uploads/<id>. */
  async assemble(upload: Upload): Promise<string> {
    await mkdir(this.directory, { recursive: true })
    const file = join(this.directory, upload.id)
    const out = await open(file, 'w')
    try {
      const { rows } = await this.pool.query<{ start: string }>('SELECT start FROM photo_upload_chunks WHERE upload = $1 ORDER BY start', [upload.id])
      let offset = 0
      // One chunk in memory at a time: a photo may be 50 MiB.
      for (const { start } of rows) {
        const { rows: [chunk] } = await this.pool.query<{ data: Buffer }>('SELECT data FROM photo_upload_chunks WHERE upload = $1 AND start = $2', [upload.id, start])
        if (Number(start) !== offset || !chunk) throw new Error(`upload ${upload.id}: chunk at ${start}, expected ${offset}`)
        await out.writeFile(chunk.data) // all of it, at the current position
        offset += chunk.data.length
      }
      const tail = this.datastore.takeTail(upload.id, offset)
      if (tail) await out.writeFile(tail)
      await out.sync()
    } finally {
      await out.close()
    }
    return file
  }

  async discard(id: string): Promise<void> {
    this.datastore.takeTail(id, -1)
    await this.pool.query('DELETE FROM photo_uploads WHERE id = $1', [id])
    await rm(join(this.directory, id), { force: true })
  }

  async close(): Promise<void> {
    clearInterval(this.sweeping)
    await this.started
  }

  /** Deletes the uploads nobody touched for staleUploadMs (at start, then hourly). */
  async sweep(): Promise<void> {
    await this.datastore.ready()
    const before = this.options.now() - (this.options.staleUploadMs ?? STALE_UPLOAD_MS)
    await this.pool.query('DELETE FROM photo_uploads WHERE touched_at < $1', [before])
  }
}

/**
 * tus's DataStore over the two tables. Each chunk is committed with the offset it moves, in one
 * statement conditional on the offset it starts from: a second relay writing the same upload at
 * once (a client that retried elsewhere) gets 409, never interleaved bytes.
 */
class PgUploadRows extends DataStore {
  /**
   * The last chunk of each upload whose final PATCH this relay is finishing. It is never committed:
   * the upload's row never says "complete" while its image is not stored, so a relay that dies
   * between the two leaves an upload the client finishes by sending that chunk again (tus-js-client
   * would take a complete upload for a stored photo, and the device would drop its original).
   */
  private readonly tails = new Map<string, { start: number; data: Buffer }>()

  constructor(private readonly pool: pg.Pool, readonly ready: () => Promise<void>, private readonly options: PartialFilesOptions) {
    super()
    this.extensions = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination']
  }

  /** The held tail of `id` if it starts at `offset`; it is forgotten either way. */
  takeTail(id: string, offset: number): Buffer | null {
    const tail = this.tails.get(id)
    this.tails.delete(id)
    return tail && tail.start === offset ? tail.data : null
  }

  /** The quota check and the row in one transaction under the customer's advisory lock. */
  override async create(upload: Upload): Promise<Upload> {
    await this.ready()
    const owner = upload.metadata?.[OWNER_KEY]
    if (!owner) throw new Error('an upload is created with its owner stamped')
    const declared = upload.size ?? this.options.limit
    const now = this.options.now()
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [QUOTA_LOCK_CLASS, owner])
      const { rows: [{ pending }] } = await client.query<{ pending: string }>('SELECT coalesce(sum(declared), 0) AS pending FROM photo_uploads WHERE owner = $1', [owner])
      if (Number(pending) + declared > this.options.cap) throw overQuota(this.options.cap, Number(pending), declared)
      await client.query(
        'INSERT INTO photo_uploads (id, owner, size, declared, metadata, created_at, touched_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
        [upload.id, owner, upload.size ?? null, declared, JSON.stringify(upload.metadata ?? {}), now])
    })
    upload.creation_date = new Date(now).toISOString()
    return upload
  }

  override async getUpload(id: string): Promise<Upload> {
    await this.ready()
    const { rows: [row] } = await this.pool.query<UploadRow>('SELECT id, size, upload_offset, metadata, created_at FROM photo_uploads WHERE id = $1', [id])
    if (!row) throw ERRORS.FILE_NOT_FOUND
    return new Upload({
      id, offset: Number(row.upload_offset), metadata: row.metadata,
      size: row.size === null ? undefined : Number(row.size),
      creation_date: new Date(Number(row.created_at)).toISOString(),
    })
  }

  /**
   * Commits every CHUNK_BYTES as they arrive, and what arrived when the client went away; the
   * chunk that completes the upload (at most CHUNK_BYTES) is held (see `tails`). Returns the
   * offset the client has reached.
   */
  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const { size } = await this.getUpload(id)
    let committed = offset
    let parts: Buffer[] = []
    let buffered = 0
    const completes = (bytes: number) => size !== undefined && committed + bytes === size
    const commitFirst = async (bytes: number) => {
      const all = Buffer.concat(parts, buffered)
      await this.commit(id, committed, all.subarray(0, bytes))
      committed += bytes
      parts = [all.subarray(bytes)]
      buffered -= bytes
    }
    // Only the stream's errors are the client's; a commit's (409, the database) are answered as they are.
    const source = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    try {
      for (;;) {
        let next: IteratorResult<Buffer>
        try {
          next = await source.next()
        } catch {
          // What reached us is good (tus bytes arrive in order); a tail that would complete the
          // upload is dropped, and sent again.
          if (buffered > 0 && !completes(buffered)) await commitFirst(buffered)
          throw ERRORS.FILE_WRITE_ERROR
        }
        if (next.done) break
        parts.push(next.value)
        buffered += next.value.length
        while (buffered > CHUNK_BYTES || (buffered === CHUNK_BYTES && !completes(buffered))) await commitFirst(CHUNK_BYTES)
      }
    } finally {
      await source.return?.()
    }
    if (buffered > 0 && !completes(buffered)) await commitFirst(buffered)
    if (buffered > 0) this.tails.set(id, { start: committed, data: Buffer.concat(parts, buffered) })
    return committed + buffered
  }

  /** One statement: the offset moves from `start` and the chunk is stored, or neither (409). */
  private async commit(id: string, start: number, data: Buffer): Promise<void> {
    const { rowCount } = await this.pool.query(
      `WITH moved AS (
         UPDATE photo_uploads SET upload_offset = $2 + $3::bigint, touched_at = $4 WHERE id = $1 AND upload_offset = $2 RETURNING id
       )
       INSERT INTO photo_upload_chunks (upload, start, data) SELECT id, $2, $5 FROM moved`,
      [id, start, data.length, this.options.now(), data])
    if (rowCount !== 1) throw ERRORS.INVALID_OFFSET
  }

  override async remove(id: string): Promise<void> {
    await this.ready()
    this.tails.delete(id)
    const { rowCount } = await this.pool.query('DELETE FROM photo_uploads WHERE id = $1', [id])
    if (rowCount !== 1) throw ERRORS.FILE_NOT_FOUND
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    await this.pool.query('UPDATE photo_uploads SET size = $2, declared = $2, touched_at = $3 WHERE id = $1', [id, length, this.options.now()])
  }
}
