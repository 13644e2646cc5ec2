// The operator's holds, kept in the lab's --data folder (holds.json) so a restarted lab node keeps
// them: written whole to a temporary file, flushed, then renamed over the old one, so a crash
// leaves the old list or the new one, never half of one.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { mkdirSync } from 'node:fs'

export interface HoldStore {
  /** The orders held when the lab node last ran; [] for a new folder. */
  load(): string[]
  /** Replaces the kept list; durable when it returns. */
  save(orders: readonly string[]): void
}

/** holds.json in `dataDir`. A file that cannot be read as a list of ids is an error, not an empty list: holds must not vanish silently. */
export function holdsFile(dataDir: string): HoldStore {
  const file = join(dataDir, 'holds.json')
  return {
    load() {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw error
      }
      const parsed = JSON.parse(text) as { held?: unknown }
      if (!Array.isArray(parsed.held) || !parsed.held.every((id) => typeof id === 'string')) throw new Error(`${file} is not a list of held orders`)
      return parsed.held as string[]
    },
    save(orders) {
      mkdirSync(dirname(file), { recursive: true })
      const temporary = `${file}.tmp`
      const fd = openSync(temporary, 'w')
      try {
        writeSync(fd, JSON.stringify({ held: [...orders] }))
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temporary, file)
      // The rename itself is durable once the folder is flushed.
      const dir = openSync(dirname(file), 'r')
      try { fsyncSync(dir) } finally { closeSync(dir) }
    },
  }
}
