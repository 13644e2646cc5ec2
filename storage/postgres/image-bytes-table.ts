// Photos' bytes in PostgreSQL's image_bytes table (--images postgres, the default in cluster
// mode), with each relay's copy of the photos it received or served in a directory of its own, by
// hash: a cache bounded by ImageCache (least recently used copies removed past its cap).
import { readFile, stat, writeFile } from 'node:fs/promises'
import type pg from 'pg'
import type { ImageFiles } from '../image-files.ts'
import type { ImageBytes } from './image-bytes.ts'
import type { ImageCache } from './image-cache.ts'

export class TableBytes implements ImageBytes {
  readonly where = 'in PostgreSQL'
  /** Copies being fetched from PostgreSQL, so readers of one photo at once fetch it once. */
  private readonly fetching = new Map<string, Promise<number | null>>()

  /**
   * `files`: this relay's copies (under its --data), where uploads are received too; `cache`
   * keeps their total within its cap.
   */
  constructor(private readonly pool: pg.Pool, private readonly files: ImageFiles, private readonly cache: ImageCache) {}

  /** This relay's copy: present after adopt() here, or once materialize() fetched it. */
  path(sha256: string): string {
    return this.files.path(sha256)
  }

  /**
   * Committed to PostgreSQL before the local file is placed. A row lost from image_bytes is put
   * back by the same bytes sent again; one that is there is not sent to the database a second time.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    const { size } = await stat(file)
    const { rowCount } = await this.pool.query('SELECT 1 FROM image_bytes WHERE sha256 = $1', [sha256])
    if (!rowCount) await this.pool.query('INSERT INTO image_bytes (sha256, data) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, await readFile(file)])
    await this.cache.keep(sha256, false, async () => {
      await this.files.adopt(file, sha256)
      return size
    })
  }

  /**
   * The copy is looked for on disk every time (the cache's record may be older than the disk).
   * One that is there, or fetched now, is held for the reader, who opens it next: the cache does
   * not remove it between this answer and that open.
   */
  async materialize(sha256: string): Promise<boolean> {
    this.files.path(sha256) // throws for anything but a sha256 hex digest, before any I/O
    return this.cache.keep(sha256, true, async () => {
      const copy = await stat(this.path(sha256)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null
        throw error
      })
      return copy ? copy.size : this.fetchOnce(sha256)
    })
  }

  /** The fetched copy's size; null when image_bytes holds no row of the photo. */
  private fetchOnce(sha256: string): Promise<number | null> {
    let fetched = this.fetching.get(sha256)
    if (!fetched) {
      fetched = this.fetch(sha256).finally(() => this.fetching.delete(sha256))
      this.fetching.set(sha256, fetched)
    }
    return fetched
  }

  private async fetch(sha256: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ data: Buffer }>('SELECT data FROM image_bytes WHERE sha256 = $1', [sha256])
    if (rows.length === 0) return null
    const staged = this.files.incomingPath()
    await writeFile(staged, rows[0].data)
    await this.files.adopt(staged, sha256)
    return rows[0].data.length
  }
}
