// A real IPP printer for tests: CUPS's ippeveprinter on a private D-Bus (it will not start
// without a system bus, even with -r off), all under a fresh temp dir; stop() leaves nothing.
// Tests talk to it on 127.0.0.1 only.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import http from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import ipp from '@sealsystems/ipp'

export interface StartIppPrinterOptions {
  /** `-c`: /bin/true completes jobs at once, /bin/false aborts them; none "prints" for 5 to 15 s. */
  command?: '/bin/true' | '/bin/false'
  name?: string
  /** A port to reuse (to restart a killed printer at the same URI); default a free one. */
  port?: number
  readyTimeoutMs?: number
  /**
   * The media the printer offers (media-supported, -ready, -default), through an attribute file
   * (`-a`; ippeveprinter then takes no -s/-f). [] makes a printer that lists no media, like a raw
   * queue. Default: `-s 10,10`'s photo sizes (L, 4x6, 5x7).
   */
  media?: string[]
}

export interface IppPrinterProcess {
  uri: string
  port: number
  /** Where `-k` keeps each job's document as `<job-id>-<job-name>.jpg`. */
  spoolDir: string
  /** Stops both processes, waits for them and removes the temp dir; safe to call twice. */
  stop(): Promise<void>
  /** Kills the printer at once, as a crash would; stop() still cleans up. */
  kill(): void
  /** Resolves once ippeveprinter has exited. */
  exited: Promise<void>
}

const IPPEVEPRINTER = '/usr/sbin/ippeveprinter'
const DBUS_DAEMON = '/usr/bin/dbus-daemon'

export async function startIppPrinter(options: StartIppPrinterOptions = {}): Promise<IppPrinterProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'labsync-ipp-'))
  try {
    // A port found free can be taken before ippeveprinter binds it (tests run in parallel): retry.
    for (let tries = 1; ; tries++) {
      try {
        return await startIn(dir, options.port ?? (await freePort()), options)
      } catch (error) {
        if (options.port !== undefined || tries >= 3 || !(error instanceof ExitedEarly)) throw error
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

class ExitedEarly extends Error {}

async function startIn(dir: string, port: number, options: StartIppPrinterOptions): Promise<IppPrinterProcess> {
  const spoolDir = join(dir, `spool-${port}`)
  const bus = join(dir, `bus-${port}.sock`)
  await mkdir(spoolDir)
  const dbus = spawn(DBUS_DAEMON, ['--session', `--address=unix:path=${bus}`, '--nofork', '--print-address'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const children: ChildProcess[] = [dbus]
  const killAll = () => children.forEach((child) => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'))
  // If the test process dies without stop(), its printers die with it.
  process.on('exit', killAll)
  try {
    await firstLine(dbus, 'dbus-daemon')
    const args = ['-p', String(port), '-r', 'off', '-d', spoolDir, '-k']
    if (options.media) args.push('-a', await attributeFile(dir, port, options.media))
    else args.push('-s', '10,10', '-f', 'image/jpeg,application/pdf,image/pwg-raster,image/urf')
    if (options.command) args.push('-c', options.command)
    args.push(options.name ?? 'Test Photo Printer')
    const printer = spawn(IPPEVEPRINTER, args, {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    children.push(printer)
    let log = ''
    printer.stderr!.on('data', (chunk) => (log = (log + chunk).slice(-4000)))
    const exited = new Promise<void>((resolve) => printer.once('exit', () => resolve()))
    const uri = `ipp://127.0.0.1:${port}/ipp/print`
    await waitUntilAnswering(uri, printer, () => log, options.readyTimeoutMs ?? 10_000)

    let stopped: Promise<void> | undefined
    return {
      uri, port, spoolDir, exited,
      kill: () => void (printer.exitCode === null && printer.signalCode === null && printer.kill('SIGKILL')),
      stop: () => (stopped ??= (async () => {
        await Promise.all(children.map((child) => terminate(child)))
        process.off('exit', killAll)
        await rm(dir, { recursive: true, force: true })
      })()),
    }
  } catch (error) {
    killAll()
    await Promise.all(children.map((child) => terminate(child)))
    process.off('exit', killAll)
    throw error
  }
}

/** An ippeveprinter attribute file (ipptool syntax) offering exactly `media`, and JPEG. */
async function attributeFile(dir: string, port: number, media: string[]): Promise<string> {
  const file = join(dir, `attributes-${port}.conf`)
  const lines = ['ATTR mimeMediaType document-format-supported image/jpeg,application/pdf']
  if (media.length) {
    lines.push(`ATTR keyword media-supported ${media.join(',')}`, `ATTR keyword media-ready ${media.join(',')}`, `ATTR keyword media-default ${media[0]}`)
  }
  await writeFile(file, lines.join('\n') + '\n')
  return file
}

/** A port nobody listens on right now, found by binding 127.0.0.1:0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** dbus-daemon prints its address once it listens. */
function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', (chunk) => (err = (err + chunk).slice(-2000)))
    child.stdout!.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.once('error', (error) => reject(new Error(`${what} did not start: ${error.message}`)))
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${err.trim()}`)))
  })
}

async function waitUntilAnswering(uri: string, printer: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let spawnError: Error | undefined
  printer.once('error', (error) => (spawnError = error))
  for (;;) {
    if (spawnError) throw new Error(`ippeveprinter did not start: ${spawnError.message}`)
    if (printer.exitCode !== null || printer.signalCode !== null) {
      throw new ExitedEarly(`ippeveprinter exited (${printer.exitCode ?? printer.signalCode}) before it answered: ${log().trim()}`)
    }
    if (await answers(uri)) return
    if (Date.now() > deadline) throw new Error(`ippeveprinter did not answer at ${uri} within ${timeoutMs} ms: ${log().trim()}`)
    await sleep(50)
  }
}

/** One Get-Printer-Attributes with a short deadline, straight through the library. */
function answers(uri: string): Promise<boolean> {
  return new Promise((resolve) => {
    const agent = new http.Agent({ keepAlive: false })
    const done = (ok: boolean) => {
      clearTimeout(timer)
      agent.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 1000)
    ipp.Printer(uri, { timeout: 1000, agent }).execute('Get-Printer-Attributes', { 'operation-attributes-tag': {} }, (error, reply) => {
      done(!error && typeof reply?.statusCode === 'string' && reply.statusCode.startsWith('successful-'))
    })
  })
}

/** SIGTERM, then SIGKILL if it is still there after 3 s; resolves when it has exited. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
