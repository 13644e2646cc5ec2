// Photos' bytes in PostgreSQL's image_bytes table (--images postgres, the default in cluster
// mode), with each relay's copy of the photos it served in a directory of its own, by hash.
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import type pg from 'pg'
import type { ImageFiles } from '../image-files.ts'
import type { ImageBytes } from './image-bytes.ts'

export class TableBytes implements ImageBytes {
  readonly where = 'in PostgreSQL'
  /** Copies being fetched from PostgreSQL, so readers of one photo at once fetch it once. */
  private readonly fetching = new Map<string, Promise<boolean>>()

  /** `cache`: this relay's files (under its --data), where uploads are received too. */
  constructor(private readonly pool: pg.Pool, private readonly cache: ImageFiles) {}

  /** This relay's copy: present after adopt() here, or once materialize() fetched it. */
  path(sha256: string): string {
    return this.cache.path(sha256)
  }

  /**
   * Committed to PostgreSQL before the local file is placed. A row lost from image_bytes is put
   * back by the same bytes sent again; one that is there is not sent to the database a second time.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM image_bytes WHERE sha256 = $1', [sha256])
    if (!rowCount) await this.pool.query('INSERT INTO image_bytes (sha256, data) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, await readFile(file)])
    await this.cache.adopt(file, sha256)
  }

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
    const staged = this.cache.incomingPath()
    await writeFile(staged, rows[0].data)
    await this.cache.adopt(staged, sha256)
    return true
  }
}
