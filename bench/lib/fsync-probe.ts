// The disk's own limit: how long appending one small record and making it durable takes on the
// filesystem a server stores to. A server that acknowledges a write only after fsync cannot
// answer faster than this, whatever its code does.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { percentile } from './stats.ts'

export interface FsyncDistribution { records: number; p50Ms: number; p99Ms: number; maxMs: number }

/**
 * `records` appends of `bytes` each to a fresh file in `dir`, each followed by fdatasync (what
 * SQLite's WAL commit does with synchronous=FULL), one after another. Blocks the calling thread
 * for records x one fsync: call it between measurements, not during one.
 */
export function fsyncProbe(dir: string, records: number, bytes = 100): FsyncDistribution {
  const file = join(dir, `fsync-probe-${process.pid}.bin`)
  const record = Buffer.alloc(bytes, 0x2a)
  const times: number[] = []
  const fd = openSync(file, 'a')
  try {
    for (let i = 0; i < records; i++) {
      const started = performance.now()
      writeSync(fd, record)
      fdatasyncSync(fd)
      times.push(performance.now() - started)
    }
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
  return { records, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: percentile(times, 100) }
}
