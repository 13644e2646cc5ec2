// The cluster's ImageStore: photos' bytes and rows in PostgreSQL, so every relay can serve a photo
// any relay received; each relay keeps the files it serves in a local directory by hash.
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { DEFAULT_LIMITS } from '../../shared/limits.ts'
import { ImageFiles, assertSha } from '../image-files.ts'
import type { ImageFormat, ImageMeta, ImageStore, StoredImage } from '../image-store.ts'
import { BlockingQuery } from './blocking-query.ts'
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
}

interface ImageRow { sha256: string; bytes: number; width: number; height: number; format: string; created_at: string }

export class PgImageStore implements ImageStore {
  readonly incomingDir: string
  private readonly files: ImageFiles
  private readonly maxBytes: number
  private readonly now: () => number

  private constructor(private readonly pool: pg.Pool, private readonly query: BlockingQuery, dataDir: string, options: PgImageStoreOptions) {
    this.files = new ImageFiles(join(dataDir, 'images'))
    this.incomingDir = this.files.incomingDir
    this.maxBytes = options.maxBytes ?? DEFAULT_LIMITS.imageBytes
    this.now = options.now ?? Date.now
  }

  /** Connects, brings the schema up to date; `dataDir` holds this relay's files (images/). */
  static async open(connectionString: string, dataDir: string, options: PgImageStoreOptions = {}): Promise<PgImageStore> {
    const pool = new pg.Pool({ connectionString, max: 2 })
    pool.on('error', () => {}) // an idle connection's error fails the next query instead
    try {
      await migrate(pool, IMAGE_MIGRATIONS)
      return new PgImageStore(pool, await BlockingQuery.open(connectionString), dataDir, options)
    } catch (error) {
      await pool.end()
      throw error
    }
  }

  /** This relay's copy: present after adopt() here, or after materialize() of a photo another relay received. */
  path(sha256: string): string {
    return this.files.path(sha256)
  }

  incomingPath(): string {
    return this.files.incomingPath()
  }

  has(sha256: string): boolean {
    return this.get(sha256) !== null
  }

  get(sha256: string): StoredImage | null {
    const [row] = this.query.rows<ImageRow>('SELECT sha256, bytes, width, height, format, created_at FROM images WHERE sha256 = $1', [sha256])
    if (!row) return null
    return { sha256: row.sha256, bytes: row.bytes, width: row.width, height: row.height, format: row.format as ImageFormat, createdAt: row.created_at }
  }

  isOwner(sha256: string, userId: string): boolean {
    return this.query.rows('SELECT 1 FROM image_owners WHERE sha256 = $1 AND user_id = $2', [sha256, userId]).length > 0
  }

  addOwner(sha256: string, userId: string): void {
    this.query.rows('INSERT INTO image_owners (sha256, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, userId])
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
  record(sha256: string, meta: ImageMeta, ownerUserId: string): boolean {
    assertSha(sha256)
    const [row] = this.query.rows<{ inserted: number }>(
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
   * the bytes are not there. What a caller on this relay awaits before reading path() (the
   * ImageStore interface has no asynchronous read yet).
   */
  async materialize(sha256: string): Promise<boolean> {
    if (existsSync(this.path(sha256))) return true
    const { rows } = await this.pool.query<{ data: Buffer }>('SELECT data FROM image_bytes WHERE sha256 = $1', [sha256])
    if (rows.length === 0) return false
    const staged = this.files.incomingPath()
    await writeFile(staged, rows[0].data)
    await this.files.adopt(staged, sha256)
    return true
  }

  async close(): Promise<void> {
    await this.query.close()
    await this.pool.end()
  }
}
