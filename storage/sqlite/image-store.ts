// The embedded ImageStore: photos on disk by content hash (`<dataDir>/images/<first 2 hex>/<sha256>`) and their rows in
// SQLite: what each image is and which customers own it. Files are placed atomically.
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises'
import { mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { DB, Migrations } from './database.ts'
import { SHA256_HEX, type ImageFormat, type ImageMeta, type ImageStore, type StoredImage } from '../image-store.ts'

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
  /** Where files are written before they are complete; same filesystem as the images, so rename is atomic. */
  readonly incomingDir: string
  private readonly root: string
  private readonly stmt

  constructor(private readonly db: DB, dataDir: string, private readonly now: () => number = Date.now) {
    this.root = join(dataDir, 'images')
    this.incomingDir = join(this.root, '.incoming')
    // Whatever a crash left half-received is garbage: nothing refers to it.
    rmSync(this.incomingDir, { recursive: true, force: true })
    mkdirSync(this.incomingDir, { recursive: true })
    this.stmt = {
      get: db.prepare<[string], { sha256: string; bytes: number; width: number; height: number; format: string; created_at: string }>(
        'SELECT sha256, bytes, width, height, format, created_at FROM images WHERE sha256 = ?'),
      insert: db.prepare('INSERT OR IGNORE INTO images (sha256, bytes, width, height, format, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      addOwner: db.prepare('INSERT OR IGNORE INTO image_owners (sha256, user_id) VALUES (?, ?)'),
      isOwner: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM image_owners WHERE sha256 = ? AND user_id = ?'),
    }
  }

  /** The file of an image, whether or not it is stored yet. */
  path(sha256: string): string {
    assertSha(sha256)
    return join(this.root, sha256.slice(0, 2), sha256)
  }

  /** A fresh name in incomingDir for a file being received. */
  incomingPath(): string {
    return join(this.incomingDir, randomBytes(16).toString('hex'))
  }

  has(sha256: string): boolean {
    return this.stmt.get.get(sha256) !== undefined
  }

  get(sha256: string): StoredImage | null {
    const row = this.stmt.get.get(sha256)
    if (!row) return null
    return { sha256: row.sha256, bytes: row.bytes, width: row.width, height: row.height, format: row.format as ImageFormat, createdAt: row.created_at }
  }

  isOwner(sha256: string, userId: string): boolean {
    return this.stmt.isOwner.get(sha256, userId) !== undefined
  }

  /** Makes `userId` an owner of a stored image (they proved they hold its bytes). */
  addOwner(sha256: string, userId: string): void {
    this.stmt.addOwner.run(sha256, userId)
  }

  /**
   * Moves a complete, verified file to its place: fsync the file, rename, fsync the directory,
   * so after a crash the image path holds either nothing or the whole file. `file` is gone
   * afterwards. Call before record(): a row never points at a file that is not durable.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    const target = this.path(sha256)
    await fsyncPath(file)
    const dir = dirname(target)
    const created = await mkdir(dir, { recursive: true })
    if (created) await fsyncPath(this.root)
    try {
      await rename(file, target)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
      // The upload directory is on another filesystem: copy into incoming, then rename there.
      const staged = this.incomingPath()
      try {
        await copyFile(file, staged)
        await fsyncPath(staged)
        await rename(staged, target)
      } finally {
        await rm(staged, { force: true })
      }
      await rm(file, { force: true })
    }
    await fsyncPath(dir)
  }

  /**
   * Records an image whose file adopt() has placed, and its owner, in one transaction.
   * True when the image is new; false when it was already recorded (the owner is added anyway).
   */
  record(sha256: string, meta: ImageMeta, ownerUserId: string): boolean {
    assertSha(sha256)
    return this.db.transaction(() => {
      const inserted = this.stmt.insert.run(sha256, meta.bytes, meta.width, meta.height, meta.format, new Date(this.now()).toISOString()).changes > 0
      this.stmt.addOwner.run(sha256, ownerUserId)
      return inserted
    }).immediate()
  }
}

function assertSha(sha256: string): void {
  // The hash becomes a path: never let anything else through.
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(sha256)}`)
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
