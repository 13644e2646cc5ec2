// The `cluster` workload's server side: PostgreSQL, Redis, server processes (relays, Hocuspocus
// instances) and haproxy, each started for real on loopback and placed on the servers' CPU, and
// the CPU each of them used, PostgreSQL's backends included.
import { execFileSync, spawn } from 'node:child_process'
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkPinned, onCpus, pinRunning } from './placement.ts'
import { currentPlacement, freePort, logServerOutput, track } from './proc.ts'
import { PostgresUnavailable, startPostgres, type PostgresServer } from '../../tests/helpers/postgres.ts'
import { startRedis, type RedisServer } from '../../tests/helpers/redis.ts'
import { haproxyConfig, HAPROXY_CFG } from '../../tests/helpers/haproxy.ts'

const ROOT = join(import.meta.dirname, '..', '..')

export interface ClusterProcess {
  name: string
  /** http://127.0.0.1:PORT */
  url: string
  /** host:port, for haproxy's server lines. */
  address: string
  pid: number
  output(): string
  /** SIGKILL, resolved once it exited. */
  kill(): Promise<void>
  /** SIGTERM, SIGKILL after 15 s. */
  stop(): Promise<void>
}

/**
 * `command ARGS…`, resolved once it prints "listening on http://…", then moved (every thread)
 * onto the servers' CPU: five processes loading the relay's modules on one CPU made the start
 * the longest part of the run, and the start is not measured. Threads started later inherit
 * the CPU. Every child is tracked, so the run's end kills whatever is left.
 */
export async function startProcess(name: string, command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ClusterProcess> {
  const { server: cpus } = currentPlacement()
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  track(child)
  let output = ''
  const keep = (chunk: Buffer) => {
    if (output.length < 100_000) output += chunk
    logServerOutput(name, child.pid, chunk)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} did not start in ${timeoutMs} ms:\n${output}`)) }, timeoutMs)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) { clearTimeout(timer); child.stdout!.off('data', check); resolve(match[1]) }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${output}`)) })
  })
  if (cpus !== null) {
    try {
      pinRunning(child.pid!, cpus)
      checkPinned(child.pid!, cpus, name)
    } catch (error) { child.kill('SIGKILL'); throw error }
  }
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    name, url, address: new URL(url).host, pid: child.pid!,
    output: () => output,
    async kill() { if (running()) child.kill('SIGKILL'); await exited },
    async stop() {
      if (running()) child.kill('SIGTERM')
      const timer = setTimeout(() => { if (running()) child.kill('SIGKILL') }, 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** PostgreSQL 15 (fsync on: durability is what is compared) and Redis 7, on the servers' CPU. */
export async function startServices(): Promise<{ postgres: PostgresServer; redis: RedisServer; stop(): Promise<void> }> {
  // Three relays' pools and two Hocuspocus instances' pools at once pass the default 100.
  // LABSYNC_BENCH_PG_LOG=FILE (experiments): PostgreSQL's log there, with its checkpoints,
  // autovacuums and statements over 50 ms, to line up with a step's stalls.
  const pgLog = process.env.LABSYNC_BENCH_PG_LOG
  const postgres = await startPostgresRetrying({
    max_connections: '300',
    ...(pgLog ? { log_checkpoints: 'on', log_autovacuum_min_duration: '0', log_min_duration_statement: '50', log_line_prefix: '%m [%p] ' } : {}),
  })
  if (pgLog) postgres.onLog((chunk) => appendFileSync(pgLog, chunk))
  let redis: RedisServer
  try {
    redis = await startRedis()
  } catch (error) {
    await postgres.stop()
    throw error
  }
  const { server: cpus } = currentPlacement()
  if (cpus !== null) {
    // The postmaster's helpers (checkpointer, WAL writer…) are already running: each is moved;
    // backends forked later inherit the postmaster's CPU.
    for (const pid of [postgres.pid, ...childrenOf(postgres.pid)]) pinRunning(pid, cpus)
    pinRunning(redis.pid, cpus)
    checkPinned(postgres.pid, cpus, 'postgres')
  }
  return { postgres, redis, async stop() { await redis.stop(); await postgres.stop() } }
}

/**
 * On this shared host another run's cleanup of abandoned server directories has removed one
 * while initdb was filling it (initdb: "could not seek to end of file"): one more try.
 */
async function startPostgresRetrying(settings: Record<string, string>): Promise<PostgresServer> {
  try {
    return await startPostgres(settings)
  } catch (error) {
    if (!(error instanceof PostgresUnavailable)) throw error
    return startPostgres(settings)
  }
}

/**
 * haproxy in front of `servers`, configured by the shipped deploy/haproxy.cfg (its routing:
 * /sync/<room> pinned by path with consistent hashing, the rest round-robin, /healthz checks each
 * second) with three bench changes: plain HTTP (the load clients would otherwise spend their CPU
 * on TLS, for every system alike); a per-client connection cap above the run's sockets (every
 * load worker connects from 127.0.0.1, as BENCH_LIMITS says for the relay's own cap); and a 5 s
 * check timeout instead of the 1 s interval haproxy uses when none is set: on this shared host a
 * busy server's event loop stalls past 1 s, haproxy took relays out up to 9 times in one figure
 * and cut all their sockets, and the figures measured the reconnections. A SIGKILLed server
 * refuses connections at once, which fails a check whatever its timeout.
 */
export async function startBalancer(dir: string, servers: ClusterProcess[]): Promise<ClusterProcess> {
  const port = await freePort()
  const relays = servers.map((s, i) => ({ name: `relay${i + 1}`, address: s.address }))
  const shipped = haproxyConfig(readFileSync(HAPROXY_CFG, 'utf8'), `127.0.0.1:${port}`, '/unused.pem', relays)
  const plain = replaceOnce(shipped, /bind (\S+) ssl crt \S+ alpn http\/1\.1/, 'bind $1')
  const uncapped = replaceOnce(plain, /sc0_conn_cur gt \d+/, 'sc0_conn_cur gt 100000')
  const config = replaceOnce(uncapped, /^(\s*)(default-server inter 1s)/m, '$1timeout check 5s\n$1$2')
  const file = join(dir, `haproxy-${port}.cfg`)
  writeFileSync(file, `${config}\n`)
  // haproxy prints no "listening" line: a tiny wrapper would hide its pid, so poll its port instead.
  const { server: cpus } = currentPlacement()
  const run = onCpus(cpus, '/usr/sbin/haproxy', ['-db', '-f', file])
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'ignore', 'pipe'] })
  track(child)
  let output = ''
  child.stderr!.on('data', (chunk) => { if (output.length < 20_000) output += chunk })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await untilAccepting(port, () => child.exitCode !== null ? `haproxy exited ${child.exitCode}:\n${output}` : null)
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    name: 'haproxy', url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, pid: child.pid!,
    output: () => output,
    async kill() { if (running()) child.kill('SIGKILL'); await exited },
    async stop() { if (running()) child.kill('SIGTERM'); await exited },
  }
}

/** How often haproxy has taken a server out so far (its health check failed twice in a row). */
export function markedDown(balancer: ClusterProcess): number {
  return balancer.output().match(/Server relays\/\S+ is DOWN/g)?.length ?? 0
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`${HAPROXY_CFG}: no line matches ${pattern}; the bench's balancer needs updating`)
  return text.replace(pattern, replacement)
}

async function untilAccepting(port: number, failed: () => string | null, timeoutMs = 10_000): Promise<void> {
  const started = performance.now()
  for (;;) {
    const problem = failed()
    if (problem) throw new Error(problem)
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`).then((res) => res.arrayBuffer())
      return
    } catch { /* not yet */ }
    if (performance.now() - started > timeoutMs) throw new Error(`haproxy did not listen on ${port} in ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// ---------------------------------------------------------------- CPU of process trees

/** Direct children of `pid` (PostgreSQL's backends and helpers are the postmaster's). */
export function childrenOf(pid: number): number[] {
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const fields = statFields(Number(name))
    if (fields && Number(fields[1]) === pid) found.push(Number(name))
  }
  return found
}

/** /proc/<pid>/stat's fields after the command name (field 3, the state, first); null when gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

let ticks = 0
const ticksPerSecond = () => (ticks ||= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100)

/**
 * CPU seconds used so far by `pid` and its children: the children alive now, and (in the
 * parent's cutime/cstime) those that exited and were reaped, so a difference of two readings
 * counts a backend that came and went in between.
 */
export function treeCpuSeconds(pid: number): number {
  const own = statFields(pid)
  if (!own) return NaN
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(own[i]))
  let total = utime + stime + cutime + cstime
  for (const child of childrenOf(pid)) {
    const fields = statFields(child)
    if (fields) total += Number(fields[11]) + Number(fields[12])
  }
  return total / ticksPerSecond()
}

/** `measure` of several process trees (a counter that only grows), between start() and the reading. */
function treeMeter(pids: Record<string, number>, measure: (pid: number) => number) {
  const read = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, measure(pid)]))
  const first = read()
  return {
    read(): Record<string, number> {
      const now = read()
      return Object.fromEntries(Object.keys(pids).map((name) => [name, now[name] - first[name]]))
    },
  }
}

/** CPU seconds of several process trees between start() and the reading. */
export const cpuMeter = (pids: Record<string, number>) => treeMeter(pids, treeCpuSeconds)

/**
 * Read and write system calls (/proc/PID/io syscr + syscw) of several process trees between start()
 * and the reading: how many sends and receives a server makes per write, which CPU time alone hides.
 */
export const syscallMeter = (pids: Record<string, number>) => treeMeter(pids, treeSyscalls)

function treeSyscalls(pid: number): number {
  return [pid, ...childrenOf(pid)].reduce((sum, p) => {
    try {
      const io = readFileSync(`/proc/${p}/io`, 'utf8')
      return sum + Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0)
    } catch {
      return sum // gone, or not ours to read
    }
  }, 0)
}

/**
 * Waits until the processes together use less than `share` of one CPU over `windowMs`, or
 * `maxMs` passed; resolves with the milliseconds waited and whether they went quiet. Between two
 * systems of one run: what the last one does after its clients left (Hocuspocus storing and
 * unloading its documents, a relay unloading its rooms) must not land in the next one's steps.
 */
export async function untilQuiet(pids: number[], { share = 0.05, windowMs = 1_000, maxMs = 60_000 } = {}): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = performance.now()
  const total = () => pids.reduce((sum, pid) => sum + (treeCpuSeconds(pid) || 0), 0)
  for (;;) {
    const before = total()
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    const used = total() - before
    const waitedMs = performance.now() - started
    if (used < share * (windowMs / 1000)) return { waitedMs, quiet: true }
    if (waitedMs >= maxMs) return { waitedMs, quiet: false }
  }
}
