// A filesystem filled to the last byte, for tests of what the relay does when the disk is full:
// the disk-full and health tests write a file on a small tmpfs until the kernel says ENOSPC.
import { closeSync, openSync, writeSync } from 'node:fs'

/** Writes `file` until its filesystem is full: megabytes, then pages, then single bytes. */
export function fillFilesystem(file: string): void {
  const fd = openSync(file, 'w')
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      try {
        for (;;) writeSync(fd, Buffer.alloc(size, 1))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
      }
    }
  } finally {
    closeSync(fd)
  }
}
