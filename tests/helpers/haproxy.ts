// Runs the shipped deploy/haproxy.cfg in a real haproxy (Debian's package) on loopback, in the
// foreground (-db) as a child of the test: only the lines the file marks "(edit)" are rewritten
// (its bind address, certificate and server lines), and a self-signed certificate is made here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, connect as tcpConnect } from 'node:net'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
export const HAPROXY_CFG = join(ROOT, 'deploy', 'haproxy.cfg')
const HAPROXY = '/usr/sbin/haproxy'

export interface Haproxy {
  /** https://localhost:PORT (the certificate names localhost and 127.0.0.1). */
  url: string
  port: number
  /** The self-signed certificate, to trust in clients (`ca`). */
  ca: string
  output: () => string
  stop(): Promise<void>
}

/** A self-signed P-256 certificate for localhost and 127.0.0.1, and the PEM haproxy wants (chain + key). */
export function selfSignedCert(dir: string): { ca: string; pemFile: string } {
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  const pemFile = join(dir, 'haproxy.pem')
  writeFileSync(pemFile, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 })
  return { ca: readFileSync(cert, 'utf8'), pemFile }
}

/**
 * deploy/haproxy.cfg with its "(edit)" lines rewritten: the bind line to `bind` and `pemFile`,
 * each backend's server lines to one per relay (keeping what follows the address). Throws when
 * a marked line is not where this expects it, so a changed file fails loudly, not silently.
 */
export function haproxyConfig(template: string, bind: string, pemFile: string, relays: Array<{ name: string; address: string }>): string {
  const out: string[] = []
  let binds = 0
  let serverBlocks = 0
  let inBlock = false
  for (const line of template.split('\n')) {
    const bindLine = /^(\s*)bind \S+ ssl crt \S+(.*)# \(edit\)/.exec(line)
    if (bindLine) {
      binds++
      out.push(`${bindLine[1]}bind ${bind} ssl crt ${pemFile}${bindLine[2]}`.trimEnd())
      continue
    }
    const server = /^(\s*)server relay\d+ \S+ (.*?)\s*# \(edit\)/.exec(line)
    if (!server) {
      inBlock = false
      out.push(line)
      continue
    }
    if (inBlock) continue
    inBlock = true
    serverBlocks++
    for (const relay of relays) out.push(`${server[1]}server ${relay.name} ${relay.address} ${server[2].replace(/relay\d+/g, relay.name)}`)
  }
  if (binds !== 1 || serverBlocks !== 2) throw new Error(`${HAPROXY_CFG}: expected 1 bind and 2 server blocks marked (edit), found ${binds} and ${serverBlocks}`)
  return out.join('\n')
}

export function haproxyInstalled(): boolean {
  try {
    execFileSync(HAPROXY, ['-v'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** haproxy on 127.0.0.1 with the shipped config in front of `relays` (name and host:port each). */
export async function startHaproxy(dir: string, relays: Array<{ name: string; address: string }>): Promise<Haproxy> {
  if (!haproxyInstalled()) throw new Error(`${HAPROXY} is missing: apt-get install -y --no-install-recommends haproxy (the test runner installs it)`)
  const { ca, pemFile } = selfSignedCert(dir)
  const port = await freePort()
  const cfg = join(dir, 'haproxy.cfg')
  writeFileSync(cfg, haproxyConfig(readFileSync(HAPROXY_CFG, 'utf8'), `127.0.0.1:${port}`, pemFile, relays))
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const started = Date.now()
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}:\n${output}`)
    if (Date.now() - started > 10_000) {
      child.kill('SIGKILL')
      throw new Error(`haproxy did not listen in 10 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url: `https://localhost:${port}`,
    port,
    ca,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
