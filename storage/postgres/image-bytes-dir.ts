// Photos' bytes as files in a directory every relay of a cluster mounts (--images DIR, e.g. NFS),
// by content hash, `<DIR>/<first 2 hex>/<sha256>`: placed as ImageFiles places them (a temporary
// file in `<DIR>/.incoming`, fsync, rename), so any relay reads nothing or the whole file.
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, rmSync, statSync, type Stats } from 'node:fs'
import { open, opendir, rm, stat, unlink } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { ImageFiles } from '../image-files.ts'
import type { ImageBytes } from './image-bytes.ts'

/** A file staged in `<DIR>/.incoming` this long ago was left by a relay that died mid-copy. */
export const STALE_STAGING_MS = 24 * 60 * 60 * 1000

/** The directory given for the photos cannot hold them; the message says why, in one line. */
export class ImagesDirError extends Error {}

/**
 * What makes `dir` unfit to hold the cluster's photos, as the end of a sentence starting with
 * the directory ("does not exist (…)"), or null when it is fit. Writes and removes one small
 * file: over NFS only a real write tells (a read-only export, root squashed to nobody).
 */
export function imagesDirProblem(dir: string): string | null {
  if (!isAbsolute(dir)) return 'is not an absolute path (give every relay the same one)'
  let stats: Stats
  try {
    stats = statSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? 'does not exist (mount the shared directory first)' : `cannot be read (${code})`
  }
  if (!stats.isDirectory()) return 'is not a directory'
  // Customers' photos: the relay's user alone, as the signing key is (storage/key-file.ts).
  if ((stats.mode & 0o077) !== 0) return `is open to other users (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}): chmod 700 it`
  const probe = join(dir, `.probe-${randomBytes(8).toString('hex')}`)
  try {
    closeSync(openSync(probe, 'wx', 0o600))
    rmSync(probe)
  } catch (error) {
    return `is not writable by this user (${(error as NodeJS.ErrnoException).code})`
  }
  return null
}

/**
 * What stops `dir` from taking photos now, as the end of a sentence starting with the directory
 * ("cannot be written (EROFS)"), or null while it takes them: one small file written, fsynced and
 * removed in `<dir>/.incoming`, where photos are staged, so a directory gone, replaced, mounted
 * read-only or full fails as an upload would. The share unmounted fails too: the empty mount
 * point has no `.incoming`. Asynchronous only: a hard NFS mount that hangs holds one libuv
 * thread, never the event loop (relay/http/health.ts bounds how long it is waited for).
 */
export async function imagesDirAnswers(dir: string): Promise<string | null> {
  const probe = join(dir, '.incoming', `probe-${randomBytes(8).toString('hex')}`)
  let created = false
  try {
    const file = await open(probe, 'wx', 0o600)
    created = true
    try {
      await file.write('probe\n')
      await file.sync()
    } finally {
      await file.close()
    }
    await unlink(probe)
    return null
  } catch (error) {
    if (created) await rm(probe, { force: true }).catch(() => {})
    return `cannot be written (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`
  }
}

export class DirBytes implements ImageBytes {
  readonly where: string
  private readonly files: ImageFiles

  private constructor(dir: string) {
    this.where = `in ${dir}`
    // Shared: its incoming directory is not emptied, other relays stage files there.
    this.files = new ImageFiles(dir, { shared: true })
  }

  /** Checks `dir` (ImagesDirError when unfit) and sweeps what dead relays left staged in it. */
  static async open(dir: string, now: () => number): Promise<DirBytes> {
    const problem = imagesDirProblem(dir)
    if (problem) throw new ImagesDirError(`${dir} ${problem}`)
    const bytes = new DirBytes(dir)
    await bytes.sweep(now())
    return bytes
  }

  path(sha256: string): string {
    return this.files.path(sha256)
  }

  /**
   * From this relay's incoming directory: a rename, or over another filesystem a copy staged in DIR
   * first. A photo whose file is there already is left as it is (same hash, same bytes): renaming
   * over a file other relays have open would give them a stale NFS handle. One whose file was lost
   * is put back, so a customer sending it again restores it.
   */
  async adopt(file: string, sha256: string): Promise<void> {
    if (await this.materialize(sha256)) return rm(file, { force: true })
    return this.files.adopt(file, sha256)
  }

  /** Whether the file is there. A missing file is false; any other error (the mount gone) is thrown. */
  async materialize(sha256: string): Promise<boolean> {
    try {
      await stat(this.path(sha256))
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw error
    }
  }

  /**
   * Removes files staged more than STALE_STAGING_MS before `now`: a copy in progress takes
   * seconds, so only a relay that died mid-copy leaves one that old. Never a placed photo.
   */
  private async sweep(now: number): Promise<void> {
    for await (const entry of await opendir(this.files.incomingDir)) {
      const file = join(this.files.incomingDir, entry.name)
      const staged = await stat(file).catch(() => null) // another relay may be sweeping it too
      if (staged && staged.mtimeMs < now - STALE_STAGING_MS) await rm(file, { force: true, recursive: true })
    }
  }
}
