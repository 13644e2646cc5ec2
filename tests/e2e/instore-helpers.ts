// What the in-store browser tests need beyond harness.ts: a free loopback port chosen before the
// relay starts (its catalog must name the store's LAN address), a catalog whose store has a lab node
// on the LAN, the stack served from the built app, and a real lab node started with `--listen`.
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { preview, type PreviewServer } from 'vite'
import { LABSYNC, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { CATALOG, buildApp, removeDir, serveApp } from './harness.ts'

const CONFIG_FILE = new URL('../../vite.config.ts', import.meta.url).pathname

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

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface StoreStack {
  relay: RelayProcess
  appUrl: string
  browser: Browser
  phone(): Promise<BrowserContext>
  /** SIGKILLs the relay and starts it again on the same port and data dir. */
  restartRelay(): Promise<RelayProcess>
  close(): Promise<void>
}

/**
 * The built app, the relay and Chromium, as harness.startStack but for `config`; with `https`, the
 * app is served over https (a self-signed certificate the browser is told to accept).
 */
export async function startStoreStack(config: object, options: { https?: boolean } = {}): Promise<StoreStack> {
  const outDir = await buildApp()
  const dataDir = tempDir()
  let relay = await startRelay({ config, dataDir })
  const server: PreviewServer = options.https ? await serveOverHttps(outDir, relay) : await serveApp(outDir, relay)
  const port = (server.httpServer.address() as AddressInfo).port
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const contexts: BrowserContext[] = []
  return {
    get relay() { return relay },
    appUrl: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    browser,
    async phone() {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
        locale: 'en-US', timezoneId: 'Asia/Tokyo', ignoreHTTPSErrors: options.https === true,
      })
      contexts.push(context)
      return context
    },
    async restartRelay() {
      relay = await relay.restart()
      return relay
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined)
      await browser.close().catch(() => undefined)
      await server.close().catch(() => undefined)
      await relay.stop().catch(() => undefined)
      removeDir(dataDir)
      removeDir(outDir)
    },
  }
}

/** harness.serveApp over https: the same proxy to the relay, behind TLS. */
function serveOverHttps(outDir: string, relay: RelayProcess): Promise<PreviewServer> {
  return preview({
    configFile: CONFIG_FILE,
    logLevel: 'error',
    build: { outDir },
    preview: {
      host: '127.0.0.1', port: 0, strictPort: false, open: false, https: selfSignedCertificate(),
      proxy: { '/api': { target: relay.url }, '/sync': { target: relay.wsUrl, ws: true } },
    },
  })
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
