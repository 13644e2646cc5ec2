// What every workload gets from bench/run.ts: the size preset, the load workers and scratch space.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Workers } from '../lib/workers.ts'
import type { Result } from '../lib/report.ts'
import type { SystemName } from '../lib/proc.ts'

export interface Context {
  quick: boolean
  /** The systems to run (all three unless `--systems` picks some). */
  systems: SystemName[]
  /** Whether the latency workloads also run the echo floor (unless `--systems` leaves it out). */
  floor: boolean
  /** The references run beside the systems (proc.ts REFERENCES, unless `--systems` leaves them out; each workload takes those it knows). */
  references?: SystemName[]
  /** Sync rounds per system, when `--rounds` overrides the preset. */
  rounds?: number
  /** cluster-rate only at these offered rates (`--rates`): no search, each system at each rate in rounds. */
  rates?: number[]
  workers: Workers
  log(message: string): void
  /** A fresh directory, removed at the end of the run. */
  tempDir(name: string): string
}

export type Workload = (ctx: Context) => Promise<Result>

export function scratch(): { tempDir(name: string): string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'labsync-bench-'))
  let n = 0
  return {
    tempDir: (name) => mkdtempSync(join(root, `${name}-${++n}-`)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  }
}

/** An id fragment unique to this run, so rooms from earlier runs never collide. */
export const runTag = () => Date.now().toString(36).slice(-5)
