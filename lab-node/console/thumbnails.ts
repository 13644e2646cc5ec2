// Photo thumbnails for the console: the lab's cached photo, resized with sharp and kept in a
// small in-memory cache (the page asks for the same ones every refresh).
import sharp from 'sharp'
import { badRequest } from './errors.ts'

const MIN_WIDTH = 32
const MAX_WIDTH = 640
const CACHE_ENTRIES = 300

export class Thumbnails {
  private readonly cache = new Map<string, Buffer>()

  constructor(private readonly photo: (sha256: string) => Promise<Buffer>) {}

  /** A WebP at most `width` wide (and as high), EXIF orientation applied. */
  async get(sha256: string, widthParam: string | null): Promise<Buffer> {
    const width = widthParam === null ? 160 : Number(widthParam)
    if (!Number.isInteger(width) || width < MIN_WIDTH || width > MAX_WIDTH) throw badRequest(`w must be an integer from ${MIN_WIDTH} to ${MAX_WIDTH}`)
    const key = `${sha256}@${width}`
    const cached = this.cache.get(key)
    if (cached) {
      this.cache.delete(key) // most recently used goes last
      this.cache.set(key, cached)
      return cached
    }
    const bytes = await sharp(await this.photo(sha256), { limitInputPixels: 100_000_000 })
      .rotate().resize({ width, height: width, fit: 'inside', withoutEnlargement: true }).webp({ quality: 70 }).toBuffer()
    this.cache.set(key, bytes)
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!)
    return bytes
  }
}
