// What the in-store browser tests need beyond harness.ts: a free loopback port chosen before the
// relay starts (its catalog must name the store's LAN address), a catalog whose store has a lab node
// on the LAN, the stack served from the built app, and a real lab node started with `--listen`.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import type { PreviewServer } from 'vite'
import { LABSYNC, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { CATALOG, buildApp, removeDir, serveApp } from './harness.ts'

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

export async function startStoreStack(config: object): Promise<StoreStack> {
  const outDir = await buildApp()
  const dataDir = tempDir()
  let relay = await startRelay({ config, dataDir })
  const server: PreviewServer = await serveApp(outDir, relay)
  const port = (server.httpServer.address() as AddressInfo).port
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const contexts: BrowserContext[] = []
  return {
    get relay() { return relay },
    appUrl: `http://127.0.0.1:${port}`,
    browser,
    async phone() {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
        locale: 'en-US', timezoneId: 'Asia/Tokyo',
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
