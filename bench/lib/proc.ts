// Server processes under test: start each system in its own process on 127.0.0.1, read its RSS and
// CPU from /proc, kill it hard (SIGKILL) or stop it cleanly, and never leave one behind.
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEMO_CONFIG } from '../../relay/config.ts'
import { checkPinned, onCpus, UNPINNED, type Placement } from './placement.ts'

export type SystemName = 'labsync' | 'hocuspocus' | 'y-websocket-server' | 'floor' | 'yjs-floor' | 'durable-floor' | 'compacting-floor'
/** The servers compared in every workload. */
export const SYSTEMS: SystemName[] = ['labsync', 'hocuspocus', 'y-websocket-server']
/**
 * The reference beside them in the latency workloads (sync, rate): servers/echo-floor.ts, which
 * stores nothing and echoes at once, so its figures are what the load workers cost by themselves.
 */
export const FLOOR: SystemName = 'floor'
/**
 * The references run beside the servers: in `sync`, the echo floor, then servers/yjs-floor.ts
 * applying every write to a Y.Doc (`yjs-floor`) and also committing it through labsync's SQLite
 * store before the echo (`durable-floor`): what Yjs and durability cost by themselves. cluster-rate
 * reads `floor` and `yjs-floor` as its store floors (servers/store-floor.ts) and adds CLUSTER_REFERENCES.
 */
export const REFERENCES: SystemName[] = [FLOOR, 'yjs-floor', 'durable-floor', 'compacting-floor']
/**
 * References of cluster-rate alone, which the other workloads pass over: `compacting-floor`, the
 * Yjs store floor that also compacts its rooms' logs (servers/store-floor.ts … yjs-compact).
 */
export const CLUSTER_REFERENCES: SystemName[] = ['compacting-floor']
export const PEERS: SystemName[] = ['hocuspocus', 'y-websocket-server']

const ROOT = join(import.meta.dirname, '..', '..')
const LABSYNC = join(ROOT, 'bin', 'labsync')
const SERVERS = join(import.meta.dirname, '..', 'servers')

export interface StartOptions {
  dataDir: string
  port?: number
  /** labsync only: a config file; without it the demo catalog with the bench's limits (BENCH_LIMITS). */
  configFile?: string
  env?: Record<string, string>
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  timeoutMs?: number
}

export interface ServerProcess {
  system: SystemName
  url: string
  wsUrl: string
  pid: number
  dataDir: string
  startedAt: number
  output(): string
  /** SIGKILL: nothing flushed that was not already on disk. */
  kill(): Promise<void>
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void>
  /** Starts again on the same data dir and port. */
  restart(): Promise<ServerProcess>
}

const live = new Set<ChildProcess>()

// One placement for the whole run, set by bench/run.ts before it starts anything, so that every
// workload's servers and workers are placed alike without each having to remember it. Anything
// else (tests) starts processes unpinned.
let placement: Placement = UNPINNED
export function usePlacement(chosen: Placement): void { placement = chosen }
export function currentPlacement(): Placement { return placement }

/** Every child this run started, killed by its own pid when the run ends however it ends. */
export function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
}

export function killAll(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  live.clear()
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { killAll(); process.exit(130) })
}

/** `bench/run.ts --cpu-prof DIR` profiles every labsync relay it starts (written when it stops cleanly). */
export const profileDir = (): string | undefined => process.env.LABSYNC_BENCH_CPU_PROF || undefined

/**
 * Node flags for every labsync relay the bench starts, one server or a cluster's: the CPU profile
 * of `--cpu-prof DIR`, and LABSYNC_BENCH_NODE_FLAGS (space-separated, for experiments such as
 * `--max-semi-space-size=4` or `--import /path/gc-log.mjs`; the peers run without them).
 */
export function labsyncNodeFlags(profile = profileDir()): string[] {
  const extra = process.env.LABSYNC_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
  return [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []), ...extra]
}

export function commandFor(system: SystemName, options: StartOptions): string[] {
  const profile = profileDir()
  const node = [...(options.nodeArgs ?? []), ...(system === 'labsync' ? labsyncNodeFlags(profile) : [])]
  const port = String(options.port ?? 0)
  switch (system) {
    case 'labsync': {
      const args = [...node, LABSYNC, 'relay', '--host', '127.0.0.1', '--port', port, '--data', options.dataDir]
      if (options.configFile) args.push('--config', options.configFile)
      return args
    }
    case 'hocuspocus':
      return [...node, '--import', 'tsx', join(SERVERS, 'hocuspocus.ts'), options.dataDir, port]
    case 'y-websocket-server':
      return [...node, '--import', 'tsx', join(SERVERS, 'y-websocket-server.ts'), options.dataDir, port]
    case 'floor':
      return [...node, '--import', 'tsx', join(SERVERS, 'echo-floor.ts'), port]
    case 'yjs-floor':
      return [...node, '--import', 'tsx', join(SERVERS, 'yjs-floor.ts'), port]
    case 'durable-floor':
      return [...node, '--import', 'tsx', join(SERVERS, 'yjs-floor.ts'), port, options.dataDir]
    case 'compacting-floor':
      throw new Error('compacting-floor runs in cluster-rate alone, on its PostgreSQL and Redis (lib/cluster-setup.ts)')
  }
}

/**
 * The per-customer limits a labsync relay runs with in the bench. The load workers share 8
 * accounts among up to 1,000 clients, so one account stands for ~125 customers at once: with the
 * defaults (64 sockets, 50 messages/s per customer) the bench would measure the limiter, not the
 * relay, and the peers have no such limits. Raised past anything the workloads send.
 */
export const BENCH_LIMITS = {
  writesPerSecond: 1_000_000, writeBytesPerSecond: 1024 * 1024 * 1024, socketsPerCustomer: 100_000,
  // Every load worker connects from 127.0.0.1: one address stands for a thousand devices.
  connectionsPerAddress: 100_000, connections: 100_000,
}

let benchConfig: string | null = null
/** The demo catalog with BENCH_LIMITS, written once per run outside every data dir (whose bytes are measured). */
function benchConfigFile(): string {
  if (benchConfig === null) {
    const dir = mkdtempSync(join(tmpdir(), 'labsync-bench-config-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    benchConfig = join(dir, 'relay.json')
    writeFileSync(benchConfig, JSON.stringify({ ...DEMO_CONFIG, limits: { ...DEMO_CONFIG.limits, ...BENCH_LIMITS } }))
  }
  return benchConfig
}

/** LABSYNC_BENCH_SERVER_LOG=FILE: every server's output, line by line, with the time, its name and pid (what a relay logs under load). */
export function logServerOutput(name: string, pid: number | undefined, chunk: Buffer): void {
  const file = process.env.LABSYNC_BENCH_SERVER_LOG
  if (!file) return
  const at = new Date().toISOString()
  appendFileSync(file, String(chunk).split('\n').filter(Boolean).map((line) => `[${at} ${name} ${pid}] ${line}\n`).join(''))
}

export async function startServer(system: SystemName, given: StartOptions): Promise<ServerProcess> {
  const options = system === 'labsync' && !given.configFile ? { ...given, configFile: benchConfigFile() } : given
  const startedAt = performance.now()
  const run = onCpus(placement.server, process.execPath, commandFor(system, options))
  const child = spawn(run.command, run.args, {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env },
  })
  track(child)
  let output = ''
  const keep = (chunk: Buffer) => {
    output += chunk
    logServerOutput(system, child.pid, chunk)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 60_000
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${system} did not start in ${timeoutMs} ms:\n${output}`)) }, timeoutMs)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) { clearTimeout(timer); child.stdout!.off('data', check); resolve(match[1]) }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${system} exited (${code ?? signal}) before listening:\n${output}`)) })
  })
  const port = Number(new URL(url).port)
  if (placement.server !== null) {
    try { checkPinned(child.pid!, placement.server, system) } catch (error) { child.kill('SIGKILL'); throw error }
  }
  const stillRunning = () => child.exitCode === null && child.signalCode === null
  return {
    system, url, wsUrl: url.replace(/^http/, 'ws'), pid: child.pid!, dataDir: options.dataDir, startedAt,
    output: () => output,
    async kill() {
      if (stillRunning()) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (stillRunning()) child.kill('SIGTERM')
      const timer = setTimeout(() => { if (stillRunning()) child.kill('SIGKILL') }, 15_000)
      await exited
      clearTimeout(timer)
    },
    restart: () => startServer(system, { ...options, port }),
  }
}

/** A forked TypeScript helper process (the load-generating workers), on the load CPUs when pinned. */
export function forkTs(file: string, args: string[] = []): ChildProcess {
  // fork runs `execPath ...execArgv file ...args` with the IPC channel inherited: with taskset as
  // execPath, taskset execs node on the load CPUs and node finds its channel as usual.
  const node = onCpus(placement.load, process.execPath, ['--import', 'tsx'])
  const child = fork(file, args, { execPath: node.command, execArgv: node.args, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  track(child)
  return child
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

// ---------------------------------------------------------------- /proc

let clockTicks = 0
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try { clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch { clockTicks = 100 }
  }
  return clockTicks
}

export interface ProcSample {
  /** When sampled (performance.now()). */
  at: number
  rssBytes: number
  /** Peak RSS so far (VmHWM). */
  peakRssBytes: number
  /** user + system CPU time so far, seconds. */
  cpuSeconds: number
  /**
   * Time the main thread (the event loop) was ready to run but waiting for a CPU, seconds
   * (/proc/<pid>/schedstat): what a busy host, not the process, cost it.
   */
  waitSeconds: number
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return { at: performance.now(), rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuSeconds: (utime + stime) / ticksPerSecond(), waitSeconds: runQueueWait(pid) }
}

function runQueueWait(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9
  } catch {
    return NaN // a kernel without schedstats
  }
}

/** Samples a process every `everyMs` until stopped; reports peak RSS and CPU used in between. */
export function watchProc(pid: number, everyMs = 200) {
  const first = sampleProc(pid)
  let peakRss = first.rssBytes
  const timer = setInterval(() => {
    try { peakRss = Math.max(peakRss, sampleProc(pid).rssBytes) } catch { /* exited */ }
  }, everyMs)
  return {
    stop() {
      clearInterval(timer)
      const last = sampleProc(pid)
      peakRss = Math.max(peakRss, last.rssBytes)
      const wallSeconds = (last.at - first.at) / 1000
      const cpuSeconds = last.cpuSeconds - first.cpuSeconds
      const waitSeconds = last.waitSeconds - first.waitSeconds
      const share = (seconds: number) => (wallSeconds > 0 ? (100 * seconds) / wallSeconds : 0)
      return { peakRssBytes: peakRss, rssBytes: last.rssBytes, cpuSeconds, wallSeconds, cpuPercent: share(cpuSeconds), waitPercent: share(waitSeconds) }
    },
  }
}

/** RSS averaged over a few samples, after letting the process settle. */
export async function settledRss(pid: number, settleMs = 1_500, samples = 5): Promise<number> {
  await sleep(settleMs)
  let total = 0
  for (let i = 0; i < samples; i++) {
    total += sampleProc(pid).rssBytes
    await sleep(100)
  }
  return total / samples
}

/** Bytes under a directory (database files, WAL, LevelDB tables); a file a running server just removed counts 0. */
export function dirBytes(dir: string): number {
  let total = 0
  let entries
  try { entries = readdirSync(dir, { withFileTypes: true }) } catch { return 0 }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += dirBytes(path)
    else if (entry.isFile()) total += statSync(path, { throwIfNoEntry: false })?.size ?? 0
  }
  return total
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
