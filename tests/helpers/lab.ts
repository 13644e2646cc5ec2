// Starts a real lab node process (`bin/labsync lab`) for integration tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeSpec, type OrderItem } from '../../shared/schema.ts'
import { LABSYNC, connect, makePhoto, newOrderId, signUp, synced, tempDir, uploadPhoto, waitFor, type RelayProcess } from './relay.ts'

export interface LabProcess {
  process: ChildProcess
  dataDir: string
  output: () => string
  /** Sends an operator command on stdin (`next`, `all`, `print <order>`, `flush`…). */
  command(line: string): void
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** With `listen`: the in-store server's base URL (http(s)://H:P; ws(s):// for sync). */
  lanUrl: string | null
  kill(): Promise<void>
  stop(): Promise<void>
}

export interface LabOptions {
  relayUrl: string
  lab: string
  key: string
  /** One --printer URI, or several (one --printer each). */
  printer: string | string[]
  dataDir?: string
  templatesDir?: string
  historyIntervalSeconds?: number
  auto?: boolean
  /** HOST:PORT for `--listen` (the in-store server); port 0 picks a free one. */
  listen?: string
  /** PEM files for the in-store server's https/wss. */
  tlsCert?: string
  tlsKey?: string
  /** HOST:PORT for `--console` (the operator console), with its `--operator-token`. */
  console?: string
  operatorToken?: string
  /** More environment for the process (e.g. NODE_EXTRA_CA_CERTS to trust a balancer's certificate). */
  env?: Record<string, string>
}

export async function startLab(options: LabOptions): Promise<LabProcess> {
  const dataDir = options.dataDir ?? tempDir('labsync-lab-')
  const printers = typeof options.printer === 'string' ? [options.printer] : options.printer
  const args = [LABSYNC, 'lab', '--relay', options.relayUrl, '--lab', options.lab, '--key', options.key, ...printers.flatMap((uri) => ['--printer', uri]),
    '--data', dataDir, '--history-interval', String(options.historyIntervalSeconds ?? 1)]
  if (options.auto) args.push('--auto')
  if (options.listen) args.push('--listen', options.listen)
  if (options.tlsCert) args.push('--tls-cert', options.tlsCert)
  if (options.tlsKey) args.push('--tls-key', options.tlsKey)
  if (options.templatesDir) args.push('--templates', options.templatesDir)
  if (options.console) args.push('--console', options.console)
  if (options.operatorToken) args.push('--operator-token', options.operatorToken)
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Ended and its output all read: a wait for output gives up only then.
  let closed = false
  child.once('close', () => (closed = true))
  const lab: LabProcess = {
    process: child,
    dataDir,
    lanUrl: null,
    output: () => output,
    command: (line) => child.stdin!.write(line + '\n'),
    waitForOutput(pattern, timeoutMs = 20_000) {
      // Checked as each chunk arrives (no poll); given up once the process has ended (exit or signal) and its last output is read.
      return new Promise((resolve, reject) => {
        const settle = () => {
          const match = pattern.exec(output)
          if (match) done(null, match)
          else if (closed) done(new Error(`lab output never matched ${pattern} (it ended):\n${output}`))
        }
        const timer = setTimeout(() => done(new Error(`lab output never matched ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs)
        const done = (error: Error | null, match?: RegExpExecArray) => {
          clearTimeout(timer)
          child.stdout!.off('data', settle)
          child.stderr!.off('data', settle)
          child.off('close', settle)
          if (error) reject(error)
          else resolve(match!)
        }
        // Listeners added after the helper's own: `output` already holds the chunk when they run.
        child.stdout!.on('data', settle)
        child.stderr!.on('data', settle)
        child.on('close', settle)
        settle()
      })
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
  try {
    // Ends at the line; the long limit is for a loaded machine, where starting Node takes a while.
    await lab.waitForOutput(new RegExp(`lab ${options.lab} ready`), 60_000)
    if (options.listen) {
      const [, scheme, address] = await lab.waitForOutput(/in-store server listening on (wss?):\/\/(\S+)/)
      lab.lanUrl = `${scheme === 'wss' ? 'https' : 'http'}://${address}`
    }
  } catch (error) {
    // The caller never gets the process to clean up: kill it here, or it keeps the test file alive.
    await lab.kill()
    throw error
  }
  return lab
}

/** A relay config with one lab (lab-1, key lab-1-secret), one store and one product (L), no discounts. */
export const ONE_LAB_CONFIG = {
  currency: 'JPY', timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: {} }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 0, roles: ['reception'] }],
  discounts: { scope: 'user', tiers: [] },
  admins: [{ name: 'root', token: 'admin-secret' }],
}

/** A new customer's submitted order of one L print: placeOrder with one item. */
export function placeOneItemOrder(relay: RelayProcess, photoSeed: number, cleanup: (done: () => void) => void) {
  return placeOrder(relay, [{ product: 'L', qty: 1 }], photoSeed, cleanup)
}

/**
 * A new customer's submitted order of `items` (each of one photo made from `photoSeed`), written
 * by a stock client, once the relay has accepted it; `cleanup` gets the client's teardown. Its
 * progress map is live.
 */
export async function placeOrder(relay: RelayProcess, items: Array<Omit<OrderItem, 'image'>>, photoSeed: number, cleanup: (done: () => void) => void) {
  const me = await signUp(relay.url)
  const photo = await uploadPhoto(relay.url, me.token, await makePhoto(photoSeed, 320, 240))
  const orderId = newOrderId()
  const c = connect(relay, `order/${orderId}`, me.token)
  cleanup(() => c.provider.destroy())
  await synced(c.provider)
  writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: items.map((item) => ({ ...item, image: photo })) })
  await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
  return { orderId, progress: c.doc.getMap('progress') }
}
