// Bounds a relay's copies of photos whose bytes PostgreSQL keeps (--images postgres): their sizes
// and last use are tracked in memory, and the least recently used copies are removed once the
// copies together pass a cap. Only a cache: TableBytes.materialize() fetches a removed copy again.
import { opendir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SHA256_HEX } from '../image-store.ts'

/**
 * 2 GiB: about 40 photos at the 50 MiB bound, hundreds of ordinary ones, which is more than the
 * photos lab nodes fetch while an order is printed; small beside the disk of any server.
 */
export const DEFAULT_IMAGE_CACHE_BYTES = 2 * 1024 ** 3

/**
 * How long a copy handed to a reader is kept whatever the cap (the reader opens it in the next
 * instants; once open, removing the name is harmless on POSIX). A file being streamed holds its
 * disk blocks until it is closed anyway, so this adds little to what reads already hold.
 */
export const DEFAULT_HOLD_MS = 1000

/** Stat calls the start-up scan keeps in flight: its work per turn stays small. */
const SCAN_PARALLEL = 16

export interface ImageCacheOptions {
  /** The cap on the copies' total size, in bytes. */
  capBytes?: number
  holdMs?: number
  now?: () => number
  /** Where the one line saying eviction began goes. */
  log?: (line: string) => void
}

interface Entry { size: number; heldUntil: number }

export class ImageCache {
  readonly capBytes: number
  /** Copies found by the start-up scan and not used since: older than anything used since start. */
  private readonly found = new Map<string, number>()
  /** Copies used since start, least recently used first (a Map keeps insertion order). */
  private readonly recent = new Map<string, Entry>()
  /** Copies being unlinked: a reader or an upload of the same photo waits for it first. */
  private readonly removing = new Map<string, Promise<void>>()
  /** Copies removed while the start-up scan runs: one it found before may be gone by now. Null after it. */
  private removedInScan: Set<string> | null = new Set()
  /** Copies inside keep() right now (a count per photo): never removed. */
  private readonly pinned = new Map<string, number>()
  private total = 0
  private warned = false
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private readonly holdMs: number
  private readonly now: () => number
  private readonly log: (line: string) => void
  private readonly scan: Promise<void>

  /** `root`: the directory of copies, `<root>/<2 hex>/<sha256>`; `pathOf` names a copy's file. */
  constructor(private readonly root: string, private readonly pathOf: (sha256: string) => string, options: ImageCacheOptions = {}) {
    this.capBytes = options.capBytes ?? DEFAULT_IMAGE_CACHE_BYTES
    this.holdMs = options.holdMs ?? DEFAULT_HOLD_MS
    this.now = options.now ?? Date.now
    this.log = options.log ?? ((line) => console.log(line))
    // Not awaited: the relay serves while it learns what an earlier run left here.
    this.scan = this.scanRoot()
      .catch((error: Error) => this.log(`relay: photo cache: scanning ${root} stopped: ${error.message}`))
      .finally(() => { this.removedInScan = null })
  }

  /** Bytes of copies known to be on disk (the scan may not have found them all yet). */
  get bytes(): number {
    return this.total
  }

  /** Resolves once the start-up scan has gone through the directory. */
  scanned(): Promise<void> {
    return this.scan
  }

  /**
   * Runs `place`, which makes sure the copy of `sha256` is on disk (there already, received or
   * fetched now) and answers its size, or null when there is none. From before `place` runs
   * (after any unlink of the copy under way) until its answer is recorded, the copy is never
   * removed, so a check that it is there stays true. `held`: the copy is handed to a reader, who
   * opens it next: kept holdMs more. Resolves once the copies it pushed out of the cap are unlinked.
   */
  async keep(sha256: string, held: boolean, place: () => Promise<number | null>): Promise<boolean> {
    this.pinned.set(sha256, (this.pinned.get(sha256) ?? 0) + 1)
    try {
      await this.removing.get(sha256) // an unlink that began earlier would take the copy placed now
      const size = await place()
      if (size === null) return false
      this.forget(sha256)
      this.recent.set(sha256, { size, heldUntil: held ? this.now() + this.holdMs : 0 })
      this.total += size
    } finally {
      const count = this.pinned.get(sha256)! - 1
      if (count === 0) this.pinned.delete(sha256)
      else this.pinned.set(sha256, count)
    }
    await this.trim()
    return true
  }

  /** Stops the scan and the timer; waits for unlinks under way. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.scan
    await Promise.all(this.removing.values())
  }

  private forget(sha256: string): void {
    const found = this.found.get(sha256)
    if (found !== undefined) {
      this.found.delete(sha256)
      this.total -= found
    }
    const entry = this.recent.get(sha256)
    if (entry) {
      this.recent.delete(sha256)
      this.total -= entry.size
    }
  }

  /**
   * Removes the least recently used copies until the total is within the cap: each step takes
   * the oldest entry, so the work is linear in the copies removed (plus the few held ones).
   */
  private async trim(): Promise<void> {
    const unlinks: Array<Promise<void>> = []
    while (this.total > this.capBytes) {
      const victim = this.oldest()
      if (!victim) break
      if (!this.warned) {
        this.warned = true
        this.log(`relay: photo cache: ${this.root} reached its cap of ${this.capBytes} bytes; the least recently used copies are removed from now on (PostgreSQL keeps the photos)`)
      }
      this.forget(victim)
      this.removedInScan?.add(victim)
      // A copy that cannot be removed (permissions changed under us) is left and said so: the
      // reader or upload that pushed it out of the cap is not failed for it.
      const unlink = rm(this.pathOf(victim), { force: true })
        .catch((error: Error) => this.log(`relay: photo cache: could not remove ${this.pathOf(victim)}: ${error.message}`))
        .finally(() => this.removing.delete(victim))
      this.removing.set(victim, unlink)
      unlinks.push(unlink)
    }
    await Promise.all(unlinks)
  }

  /**
   * The copy to remove next; null when none may go now. Pinned copies are passed over (keep()
   * trims again when it is done); held ones end the search, a timer trims again when the first
   * one's hold ends (copies are in the order they were used, so it is the first released).
   */
  private oldest(): string | null {
    for (const sha256 of this.found.keys()) if (!this.pinned.has(sha256)) return sha256
    const now = this.now()
    for (const [sha256, entry] of this.recent) {
      if (this.pinned.has(sha256)) continue
      if (entry.heldUntil <= now) return sha256
      this.trimAt(entry.heldUntil - now)
      return null
    }
    return null
  }

  private trimAt(delayMs: number): void {
    if (this.timer || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.trim()
    }, delayMs + 1)
    this.timer.unref()
  }

  /** One directory of `<2 hex>` at a time, SCAN_PARALLEL stats at a time: never a long turn. */
  private async scanRoot(): Promise<void> {
    const top = await opendir(this.root).catch(() => null)
    if (!top) return
    for await (const dirent of top) {
      if (this.closed) return // leaving the loop closes the directory
      if (!dirent.isDirectory() || !/^[0-9a-f]{2}$/.test(dirent.name)) continue
      await this.scanPrefix(dirent.name)
      await this.trim()
    }
  }

  private async scanPrefix(prefix: string): Promise<void> {
    const dir = join(this.root, prefix)
    const names: string[] = []
    for await (const dirent of await opendir(dir)) {
      if (dirent.isFile() && SHA256_HEX.test(dirent.name) && dirent.name.startsWith(prefix)) names.push(dirent.name)
    }
    const copies: Array<{ sha256: string; size: number; mtimeMs: number }> = []
    for (let i = 0; i < names.length && !this.closed; i += SCAN_PARALLEL) {
      await Promise.all(names.slice(i, i + SCAN_PARALLEL).map(async (sha256) => {
        const info = await stat(join(dir, sha256)).catch(() => null)
        if (info) copies.push({ sha256, size: info.size, mtimeMs: info.mtimeMs })
      }))
    }
    // Oldest placed first within a directory; across directories in the order they are read (a
    // global order would mean sorting every copy in one turn): all are older than any copy used since.
    copies.sort((a, b) => a.mtimeMs - b.mtimeMs)
    for (const { sha256, size } of copies) {
      // Used (or being removed) since start: what is known of it now is newer than the scan's.
      if (this.recent.has(sha256) || this.found.has(sha256) || this.removedInScan?.has(sha256)) continue
      this.found.set(sha256, size)
      this.total += size
    }
  }
}
