// What a relay's directory of photo files holds, read from the disk itself: for tests of the
// cache of copies (--images postgres) against the truth, not against the cache's own count.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The bytes of the photo files under `<dataDir>/images` (what is being received, in .incoming, aside). */
export function cachedBytes(dataDir: string): number {
  const root = join(dataDir, 'images')
  let total = 0
  for (const prefix of readdirSync(root)) {
    if (prefix === '.incoming') continue
    for (const name of readdirSync(join(root, prefix))) total += statSync(join(root, prefix, name)).size
  }
  return total
}

/** Where a relay keeps its copy of a photo under `dataDir`. */
export const copyOf = (dataDir: string, sha256: string): string => join(dataDir, 'images', sha256.slice(0, 2), sha256)
