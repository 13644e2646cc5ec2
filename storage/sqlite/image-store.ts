// The embedded ImageStore: photos on disk by content hash (`<dataDir>/images/<first 2 hex>/<sha256>`) and their rows in
// SQLite: what each image is and which customers own it. Files are placed atomically.
import { join } from 'node:path'
import type { DB, Migrations } from './database.ts'
import type { ImageFormat, ImageMeta, ImageStore, StoredImage } from '../image-store.ts'
import { ImageFiles, assertSha } from '../image-files.ts'

export * from '../image-store.ts'

/**
 * The image store's tables, as every database holding images creates them in one of its steps.
 * A change to them is a new step appended to each list that holds them (the relay's, the lab
 * node's in-store one, IMAGE_STORE_MIGRATIONS).
 */
export const IMAGE_TABLES = `CREATE TABLE images (
     sha256     TEXT PRIMARY KEY,
     bytes      INTEGER NOT NULL,
     width      INTEGER NOT NULL,
     height     INTEGER NOT NULL,
     format     TEXT NOT NULL,
     created_at TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE image_owners (
     sha256  TEXT NOT NULL,
     user_id TEXT NOT NULL,
     PRIMARY KEY (sha256, user_id)
   ) WITHOUT ROWID;`

/** A database of images only: the store's own list (tests, tools). */
export const IMAGE_STORE_MIGRATIONS: Migrations = [IMAGE_TABLES]

export class SqliteImageStore implements ImageStore {
  readonly incomingDir: string
  private readonly files: ImageFiles
  private readonly stmt

  constructor(private readonly db: DB, dataDir: string, private readonly now: () => number = Date.now) {
    this.files = new ImageFiles(join(dataDir, 'images'))
    this.incomingDir = this.files.incomingDir
    this.stmt = {
      get: db.prepare<[string], { sha256: string; bytes: number; width: number; height: number; format: string; created_at: string }>(
        'SELECT sha256, bytes, width, height, format, created_at FROM images WHERE sha256 = ?'),
      insert: db.prepare('INSERT OR IGNORE INTO images (sha256, bytes, width, height, format, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      addOwner: db.prepare('INSERT OR IGNORE INTO image_owners (sha256, user_id) VALUES (?, ?)'),
      isOwner: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM image_owners WHERE sha256 = ? AND user_id = ?'),
    }
  }

  path(sha256: string): string {
    return this.files.path(sha256)
  }

  localPath(sha256: string): Promise<string> {
    return this.files.localPath(sha256)
  }

  incomingPath(): string {
    return this.files.incomingPath()
  }

  // Each answer is computed before the promise is returned (an async function runs up to its first
  // await): the embedded store behaves exactly as when these were synchronous.
  async has(sha256: string): Promise<boolean> {
    return this.stmt.get.get(sha256) !== undefined
  }

  async get(sha256: string): Promise<StoredImage | null> {
    const row = this.stmt.get.get(sha256)
    if (!row) return null
    return { sha256: row.sha256, bytes: row.bytes, width: row.width, height: row.height, format: row.format as ImageFormat, createdAt: row.created_at }
  }

  async isOwner(sha256: string, userId: string): Promise<boolean> {
    return this.stmt.isOwner.get(sha256, userId) !== undefined
  }

  async addOwner(sha256: string, userId: string): Promise<void> {
    this.stmt.addOwner.run(sha256, userId)
  }

  /** Call before record(): a row never points at a file that is not durable. */
  adopt(file: string, sha256: string): Promise<void> {
    return this.files.adopt(file, sha256)
  }

  /** The image row and its owner in one transaction. */
  async record(sha256: string, meta: ImageMeta, ownerUserId: string): Promise<boolean> {
    assertSha(sha256)
    return this.db.transaction(() => {
      const inserted = this.stmt.insert.run(sha256, meta.bytes, meta.width, meta.height, meta.format, new Date(this.now()).toISOString()).changes > 0
      this.stmt.addOwner.run(sha256, ownerUserId)
      return inserted
    }).immediate()
  }
}
