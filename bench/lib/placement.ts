// Where the bench's processes run: every server under test pinned to one CPU, the load workers
// (and the bench itself) to the others, with `taskset`, so that a ratio compares what the servers
// cost and not how the scheduler happened to share two cores between a server and its load.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface Placement {
  pinned: boolean
  /** CPU list (taskset syntax) of every server process; null when unpinned. */
  server: string | null
  /** CPU list of the load workers and of the bench's own process; null when unpinned. */
  load: string | null
  /** Why the run is unpinned, when it is. */
  reason?: string
}

export const UNPINNED: Placement = { pinned: false, server: null, load: null, reason: 'not asked for' }

/** A process did not end up on the CPUs it was started on (the run's ratios would not mean what they say). */
export class PlacementError extends Error {}

/** "0-2,5" -> [0, 1, 2, 5] */
export function parseCpuList(list: string): number[] {
  return list.trim().split(',').filter(Boolean).flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number)
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new PlacementError(`not a CPU list: "${list}"`)
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  })
}

/**
 * The placement for a run. `allowed` are the CPUs this process may use (its own affinity, which a
 * container may already narrow): the first takes the servers, the rest the load.
 */
export function planPlacement(options: { unpinned: boolean; taskset: boolean; allowed: readonly number[] }): Placement {
  const off = (reason: string): Placement => ({ pinned: false, server: null, load: null, reason })
  if (options.unpinned) return off('--unpinned')
  if (!options.taskset) return off('taskset (util-linux) is not installed')
  if (options.allowed.length < 2) return off(`only CPU ${options.allowed.join(',')} is available: the server and its load cannot be apart`)
  return { pinned: true, server: String(options.allowed[0]), load: options.allowed.slice(1).join(',') }
}

/** One line for the log and the tables. */
export function describe(placement: Placement): string {
  return placement.pinned
    ? `pinned with taskset: servers on CPU ${placement.server}, load workers and the bench on CPU ${placement.load}`
    : `UNPINNED (${placement.reason}): servers, load workers and the bench share every CPU`
}

export function hasTaskset(): boolean {
  const probe = spawnSync('taskset', ['--version'], { stdio: 'ignore' })
  return !probe.error && probe.status === 0
}

/** The CPUs a process may run on, as the kernel reports them (`Cpus_allowed_list`). */
export function allowedCpus(pid: number | 'self' = 'self'): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)
  if (!match) throw new PlacementError(`no Cpus_allowed_list in /proc/${pid}/status`)
  return match[1]
}

/** `command args` run on `cpus` (taskset execs the command, so the pid is the command's own). */
export function onCpus(cpus: string | null, command: string, args: string[]): { command: string; args: string[] } {
  return cpus === null ? { command, args } : { command: 'taskset', args: ['-c', cpus, command, ...args] }
}

/** Moves a running process, every thread of it, onto `cpus` (threads it starts later inherit it). */
export function pinRunning(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

/** Throws unless `pid` may run on exactly `cpus`. */
export function checkPinned(pid: number, cpus: string, what: string): void {
  const actual = allowedCpus(pid)
  if (parseCpuList(actual).join(',') !== parseCpuList(cpus).join(',')) {
    throw new PlacementError(`${what} (pid ${pid}) runs on CPU ${actual}, not ${cpus}`)
  }
}
