// Photo files on a local disk by content hash, `<root>/<first 2 hex>/<sha256>`: received into
// `<root>/.incoming`, then moved into place so that a crash leaves nothing or the whole file.
// What every ImageStore that keeps its files on this machine shares (SQLite's, memory's), and the
// cluster's when its photos are in a directory every relay mounts (--images DIR).
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ImageMissingError, SHA256_HEX } from './image-store.ts'

export class ImageFiles {
  /** Same filesystem as the images, so a rename from here is atomic. */
  readonly incomingDir: string

  /**
   * `shared`: several processes use `root` at once (relays on one mount), so the incoming
   * directory is not emptied here: another relay may be moving a file through it right now.
   */
  constructor(private readonly root: string, options: { shared?: boolean } = {}) {
    this.incomingDir = join(root, '.incoming')
    // Whatever a crash left half-received is garbage: nothing refers to it.
    if (!options.shared) rmSync(this.incomingDir, { recursive: true, force: true })
    mkdirSync(this.incomingDir, { recursive: true })
  }

  path(sha256: string): string {
    assertSha(sha256)
    return join(this.root, sha256.slice(0, 2), sha256)
  }

  /** path(sha256) when the file is there (adopt() placed it); ImageMissingError when not. */
  localPath(sha256: string): Promise<string> {
    try {
      const path = this.path(sha256)
      if (!existsSync(path)) throw new ImageMissingError(`no file of image ${sha256} on this machine`)
      return Promise.resolve(path)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  incomingPath(): string {
    return join(this.incomingDir, randomBytes(16).toString('hex'))
  }

  /**
   * fsync the file, rename, fsync the directory: after a crash the image path holds either
   * nothing or the whole file. `file` is gone afterwards.
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
}

export function assertSha(sha256: string): void {
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
