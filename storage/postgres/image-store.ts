// The cluster's ImageStore: photos' bytes and rows in PostgreSQL, so every relay can serve a photo
// any relay received; each relay keeps the files it serves in a local directory by hash.
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { DEFAULT_LIMITS } from '../../shared/limits.ts'
import { ImageFiles, assertSha } from '../image-files.ts'
import { ImageMissingError, type ImageFormat, type ImageMeta, type ImageStore, type StoredImage } from '../image-store.ts'
import { migrate, type PgMigrations } from './migrate.ts'

/** The images' schema steps (see PgMigrations: append, never edit). */
export const IMAGE_MIGRATIONS: PgMigrations = {
  component: 'images',
  steps: [
    `CREATE TABLE images (
       sha256     text PRIMARY KEY,
       bytes      integer NOT NULL,
       width      integer NOT NULL,
       height     integer NOT NULL,
       format     text NOT NULL,
       created_at text NOT NULL
     );
     CREATE TABLE image_owners (
       sha256  text NOT NULL,
       user_id text NOT NULL,
       PRIMARY KEY (sha256, user_id)
     );
     -- bytea, not large objects: a photo is bounded (limits.imageBytes, 50 MiB by default, far
     -- under bytea's 1 GiB), a row is removed, replicated and dumped like any other, and large
     -- objects would need lo_unlink or vacuumlo to ever be freed.
     CREATE TABLE image_bytes (
       sha256 text PRIMARY KEY,
       data   bytea NOT NULL
     );`,
  ],
}

/** adopt() was given a file over the store's bound: nothing was stored. */
export class ImageTooLargeError extends Error {}

export interface PgImageStoreOptions {
  /** The largest photo stored, as the intake's limits.imageBytes. */
  maxBytes?: number
  now?: () => number
  /** Connections to PostgreSQL; 4 unless given (each statement touches a row or two). */
  connections?: number
}

interface ImageRow { sha256: string; bytes: number; width: number; height: number; format: string; created_at: string }

export class PgImageStore implements ImageStore {
  readonly incomingDir: string
  private readonly files: ImageFiles
  private readonly maxBytes: number
  private readonly now: () => number
  /** Copies being fetched from PostgreSQL, so readers of one photo at once fetch it once. */
  private readonly fetching = new Map<string, Promise<boolean>>()

  private constructor(private readonly pool: pg.Pool, dataDir: string, options: PgImageStoreOptions) {
    this.files = new ImageFiles(join(dataDir, 'images'))
    this.incomingDir = this.files.incomingDir
    this.maxBytes = options.maxBytes ?? DEFAULT_LIMITS.imageBytes
    this.now = options.now ?? Date.now
  }

  /** Connects, brings the schema up to date; `dataDir` holds this relay's files (images/). */
  static async open(connectionString: string, dataDir: string, options: PgImageStoreOptions = {}): Promise<PgImageStore> {
    // A database that does not answer fails a statement within 10 s rather than queueing it for
    // ever; a statement waiting on a lock another relay holds is waited for.
    const pool = new pg.Pool({ connectionString, max: options.connections ?? 4, connectionTimeoutMillis: 10_000 })
    pool.on('error', () => {}) // an idle connection's error fails the next query instead
    try {
      await migrate(pool, IMAGE_MIGRATIONS)
      return new PgImageStore(pool, dataDir, options)
    } catch (error) {
      await pool.end()
      throw error
    }
  }

  /** This relay's copy: present after adopt() here, or once localPath() fetched a photo another relay received. */
  path(sha256: string): string {
    return this.files.path(sha256)
  }

  async localPath(sha256: string): Promise<string> {
    if (!await this.materialize(sha256)) throw new ImageMissingError(`no bytes of image ${sha256} in PostgreSQL`)
    return this.path(sha256)
  }

  incomingPath(): string {
    return this.files.incomingPath()
  }

  async has(sha256: string): Promise<boolean> {
    return await this.get(sha256) !== null
  }

  async get(sha256: string): Promise<StoredImage | null> {
    const { rows: [row] } = await this.pool.query<ImageRow>('SELECT sha256, bytes, width, height, format, created_at FROM images WHERE sha256 = $1', [sha256])
    if (!row) return null
    return { sha256: row.sha256, bytes: row.bytes, width: row.width, height: row.height, format: row.format as ImageFormat, createdAt: row.created_at }
  }

  async isOwner(sha256: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM image_owners WHERE sha256 = $1 AND user_id = $2', [sha256, userId])
    return (rowCount ?? 0) > 0
  }

  async addOwner(sha256: string, userId: string): Promise<void> {
    await this.pool.query('INSERT INTO image_owners (sha256, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, userId])
  }

  /**
   * The bytes are committed to PostgreSQL before the local file is placed, so a row record()
   * writes next never points at bytes another relay cannot read.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    assertSha(sha256)
    const { size } = await stat(file)
    if (size > this.maxBytes) {
      await rm(file, { force: true })
      throw new ImageTooLargeError(`an image may have at most ${this.maxBytes} bytes, this one has ${size}`)
    }
    await this.pool.query('INSERT INTO image_bytes (sha256, data) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, await readFile(file)])
    await this.files.adopt(file, sha256)
  }

  /** One statement, so the image row and its owner are stored together or not at all. */
  async record(sha256: string, meta: ImageMeta, ownerUserId: string): Promise<boolean> {
    assertSha(sha256)
    const { rows: [row] } = await this.pool.query<{ inserted: number }>(
      `WITH image AS (
         INSERT INTO images (sha256, bytes, width, height, format, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING 1),
       owner AS (INSERT INTO image_owners (sha256, user_id) VALUES ($1, $7) ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS inserted FROM image`,
      [sha256, meta.bytes, meta.width, meta.height, meta.format, new Date(this.now()).toISOString(), ownerUserId])
    return row.inserted > 0
  }

  /**
   * Places this relay's copy of a photo another relay received, from PostgreSQL; false when
   * the bytes are not there. localPath() is this, for readers of the ImageStore interface.
   */
  async materialize(sha256: string): Promise<boolean> {
    if (existsSync(this.path(sha256))) return true
    let fetched = this.fetching.get(sha256)
    if (!fetched) {
      fetched = this.fetch(sha256).finally(() => this.fetching.delete(sha256))
      this.fetching.set(sha256, fetched)
    }
    return fetched
  }

  private async fetch(sha256: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ data: Buffer }>('SELECT data FROM image_bytes WHERE sha256 = $1', [sha256])
    if (rows.length === 0) return false
    const staged = this.files.incomingPath()
    await writeFile(staged, rows[0].data)
    await this.files.adopt(staged, sha256)
    return true
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}
