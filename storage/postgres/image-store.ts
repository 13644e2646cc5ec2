// The cluster's ImageStore: photos' rows (images, image_owners) in PostgreSQL and their bytes in
// one place every relay reads (image-bytes.ts: the image_bytes table, or a shared directory), so
// every relay can serve a photo any relay received, and ownership is checked in one database.
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { openPool } from './pool.ts'
import { DEFAULT_LIMITS } from '../../shared/limits.ts'
import { ImageFiles, assertSha } from '../image-files.ts'
import type { ImageBytes } from './image-bytes.ts'
import { TableBytes } from './image-bytes-table.ts'
import { ImageCache } from './image-cache.ts'
import { DirBytes } from './image-bytes-dir.ts'
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
  /**
   * --images DIR: the bytes as files in this directory, which every relay mounts at this path
   * (ImagesDirError when it is unfit); without it, in the image_bytes table.
   */
  imagesDir?: string
  /**
   * Without imagesDir: the cap in bytes on this relay's copies of photos under dataDir, least
   * recently used removed past it (ImageCache; DEFAULT_IMAGE_CACHE_BYTES unless given). With
   * imagesDir nothing is ever removed: that directory is the store.
   */
  cacheBytes?: number
  /** How long a copy handed to a reader is kept whatever the cap (ImageCache's DEFAULT_HOLD_MS unless given). */
  cacheHoldMs?: number
}

interface ImageRow { sha256: string; bytes: number; width: number; height: number; format: string; created_at: string }

export class PgImageStore implements ImageStore {
  readonly incomingDir: string
  private readonly files: ImageFiles
  private readonly maxBytes: number
  private readonly now: () => number

  private constructor(private readonly pool: pg.Pool, private readonly bytes: ImageBytes, files: ImageFiles, private readonly cache: ImageCache | null, options: PgImageStoreOptions) {
    this.files = files
    this.incomingDir = files.incomingDir
    this.maxBytes = options.maxBytes ?? DEFAULT_LIMITS.imageBytes
    this.now = options.now ?? Date.now
  }

  /**
   * Connects, brings the schema up to date. `dataDir` holds this relay's files (images/): what it
   * is receiving, and with the bytes in PostgreSQL its copies of the photos it served.
   */
  static async open(connectionString: string, dataDir: string, options: PgImageStoreOptions = {}): Promise<PgImageStore> {
    // Before connecting: an unfit directory is the operator's to fix, not a database to wait for.
    const dir = options.imagesDir === undefined ? null : await DirBytes.open(options.imagesDir, options.now ?? Date.now)
    // A database that does not answer fails a statement within 10 s rather than queueing it for
    // ever; a statement waiting on a lock another relay holds is waited for.
    const pool = openPool({ connectionString, max: options.connections ?? 4, connectionTimeoutMillis: 10_000 })
    try {
      await migrate(pool, IMAGE_MIGRATIONS)
      const root = join(dataDir, 'images')
      const files = new ImageFiles(root)
      if (dir) return new PgImageStore(pool, dir, files, null, options)
      const cache = new ImageCache(root, (sha256) => files.path(sha256), { capBytes: options.cacheBytes, holdMs: options.cacheHoldMs, now: options.now })
      return new PgImageStore(pool, new TableBytes(pool, files, cache), files, cache, options)
    } catch (error) {
      await pool.end()
      throw error
    }
  }

  /**
   * The file readers on this machine open: in the shared directory, or this relay's copy
   * (present after adopt() here, or once localPath() fetched a photo another relay received).
   */
  path(sha256: string): string {
    return this.bytes.path(sha256)
  }

  /**
   * A recorded image whose bytes are missing (a shared directory restored from an older backup
   * than the database) is ImageMissingError too: its row is kept, so the photo is served again
   * as soon as its file is put back.
   */
  async localPath(sha256: string): Promise<string> {
    if (!await this.materialize(sha256)) throw new ImageMissingError(`no bytes of image ${sha256} ${this.bytes.where}`)
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

  /** The bytes are stored for every relay first, so a row record() writes next never points at bytes another relay cannot read. */
  async adopt(file: string, sha256: string): Promise<void> {
    assertSha(sha256)
    const { size } = await stat(file)
    if (size > this.maxBytes) {
      await rm(file, { force: true })
      throw new ImageTooLargeError(`an image may have at most ${this.maxBytes} bytes, this one has ${size}`)
    }
    await this.bytes.adopt(file, sha256)
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
   * Whether this machine can open the photo's file, fetching its copy of a photo another relay
   * received when the bytes are in PostgreSQL; false when they are nowhere. localPath() is this,
   * for readers of the ImageStore interface.
   */
  materialize(sha256: string): Promise<boolean> {
    return this.bytes.materialize(sha256)
  }

  /** This relay's cache of copies (--images postgres); null when the files are the store. */
  get copies(): ImageCache | null {
    return this.cache
  }

  async close(): Promise<void> {
    await this.cache?.close()
    await this.pool.end()
  }
}
