// What the in-store browser tests need beyond harness.ts: a free loopback port chosen before the
// relay starts (its catalog must name the store's LAN address), a catalog whose store has a lab node
// on the LAN, the stack served from the built app, and a real lab node started with `--listen`.
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { LABSYNC, tempDir } from '../helpers/relay.ts'
import { CATALOG, removeDir, startStack, type Stack } from './harness.ts'

export const LAB = { id: 'demo-lab', key: 'demo-lab-key' }

/** A port nothing listens on right now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * The test catalog with the demo lab, whose "Station store" has a lab node at `lanUrl`, and a
 * "Mall store" served by another lab, which no test starts (its orders stay unprinted).
 */
export function storeCatalog(lanUrl: string) {
  return {
    ...CATALOG,
    labs: [
      { id: LAB.id, name: 'Demo lab', key: LAB.key, price: { L: 35 } },
      { id: 'far-lab', name: 'Far lab', key: 'far-lab-key', price: {} },
    ],
    fronts: [
      { id: 'station', name: 'Station store', lab: LAB.id, fee: 100, roles: ['reception', 'delivery'], lanUrl },
      { id: 'mall', name: 'Mall store', lab: 'far-lab', fee: 0, roles: ['reception', 'delivery'] },
    ],
  }
}

/** The stack of harness.ts for a store catalog; with `https`, the app is served over https. */
export type StoreStack = Stack

export function startStoreStack(config: object, options: { https?: boolean } = {}): Promise<StoreStack> {
  return startStack({ config, https: options.https ? selfSignedCertificate() : undefined })
}

export interface LanLab {
  process: ChildProcess
  printDir: string
  output: () => string
  /** The print files (JPEGs) written so far. */
  prints: () => string[]
  stop(): Promise<void>
}

/**
 * `bin/labsync lab … --printer file:DIR --auto --listen 127.0.0.1:PORT`, resolved once it prints
 * `lab <id> ready`; rejects with its output if it exits first.
 */
export async function startLanLab(relayUrl: string, listenPort: number): Promise<LanLab> {
  const dataDir = tempDir('labsync-lab-')
  const printDir = tempDir('labsync-prints-')
  const child = spawn(process.execPath, [LABSYNC, 'lab', '--relay', relayUrl, '--lab', LAB.id, '--key', LAB.key,
    '--printer', `file:${printDir}`, '--data', dataDir, '--history-interval', '1', '--auto', '--listen', `127.0.0.1:${listenPort}`],
  { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab node did not get ready in 20 s:\n${output}`)), 20_000)
    const check = () => {
      if (new RegExp(`lab ${LAB.id} ready`).test(output)) { clearTimeout(timer); resolve() }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`lab node exited ${code} before it was ready:\n${output}`)) })
  })
  return {
    process: child,
    printDir,
    output: () => output,
    prints: () => readdirSync(printDir).filter((name) => name.endsWith('.jpg')).sort(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      removeDir(dataDir)
      removeDir(printDir)
    },
  }
}

// ---------------------------------------------------------------- a page served over https

/** DER: a tag, its length, its content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  const n = body.length
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), length, body])
}
const seq = (...parts: Buffer[]) => der(0x30, ...parts)
const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'))
const utcTime = (date: Date) => der(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'))
const pem = (label: string, body: Buffer) => `-----BEGIN ${label}-----\n${body.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`

/**
 * A self-signed P-256 certificate for 127.0.0.1, valid for a day, made with node:crypto alone (the
 * machine need not have openssl). Only for a browser told to ignore certificate errors.
 */
export function selfSignedCertificate(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ecdsaWithSha256 = seq(oid('2a8648ce3d040302'))
  const name = seq(der(0x31, seq(oid('550403'), der(0x0c, Buffer.from('127.0.0.1'))))) // CN
  const now = Date.now()
  const subjectAltName = seq(oid('551d11'), der(0x04, seq(der(0x87, Buffer.from([127, 0, 0, 1])))))
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, randomBytes(8).fill(0x01, 0, 1)), // a positive serial number
    ecdsaWithSha256, name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(subjectAltName)),
  )
  const signature = sign('sha256', tbs, privateKey)
  const cert = seq(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature))
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: pem('CERTIFICATE', cert) }
}
