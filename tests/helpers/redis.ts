// A real Redis 7 for one test file: redis-server as this process's child on a free loopback port
// (never 6379), nothing saved to disk, stopped when the test ends or exits; restart() for fault tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ippeveprinter.ts'

/** Installed by tests/run.ts from the Debian package `redis-server`. */
const BIN = '/usr/bin/redis-server'

export class RedisUnavailable extends Error {}

export interface RedisServer {
  readonly port: number
  /** redis://127.0.0.1:<port> */
  readonly url: string
  /** The server's pid now (it changes on restart), for tests that signal it themselves. */
  readonly pid: number
  /** SIGKILL (nothing is kept: pub/sub has no memory anyway), resolved once it exited. */
  kill(): Promise<void>
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>
  /** kill() then start(): every client sees its connection cut and the server come back. */
  restart(): Promise<void>
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(BIN)) throw new RedisUnavailable(`${BIN} is missing: install the Debian package redis-server`)
  const dir = mkdtempSync(join(tmpdir(), 'labsync-redis-'))
  const port = await freePort()
  let child: ChildProcess | null = null
  const killOnExit = () => {
    try { child?.kill('SIGKILL') } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', killOnExit)
  const start = async () => {
    // --save "" and --appendonly no: a test's Redis never writes a file; a restart starts empty,
    // as a real outage of a pub/sub-only Redis does.
    child = spawn(BIN, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    await ready(child)
  }
  const kill = async () => {
    const running = child
    child = null
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    await new Promise<void>((resolve) => { running.once('exit', () => resolve()); running.kill('SIGKILL') })
  }
  await start().catch((error) => { killOnExit(); process.off('exit', killOnExit); throw error })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() { return child?.pid ?? -1 },
    kill,
    start,
    async restart() { await kill(); await start() },
    async stop() {
      await kill()
      process.off('exit', killOnExit)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves when the server logs that it accepts connections; rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new RedisUnavailable(`redis-server did not start in 10 s:\n${log}`)), 10_000)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk
      if (log.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
    })
    child.stderr!.resume()
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new RedisUnavailable(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`))
    })
  })
}
