// For the operator console's tests: a real relay (child process) and, in this process, the lab
// node's real parts as lab-node/main.ts wires them (RelayLink, Journal on a temp dir, FilePrinter,
// PrintQueue, HistoryReport) with the console in front; plus a customer who places orders.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type * as Y from 'yjs'
import { writeSpec } from '../../shared/schema.ts'
import { Journal } from '../../lab-node/journal.ts'
import { RelayLink } from '../../lab-node/relay-link.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { PrintQueue } from '../../lab-node/queue.ts'
import { HistoryReport } from '../../lab-node/history.ts'
import { consoleBackend } from '../../lab-node/console/backend.ts'
import { startConsole, type ConsoleServer } from '../../lab-node/console/server.ts'
import { connect, makePhoto, newOrderId, removeDir, signUp, startRelay, synced, tempDir, uploadPhoto, waitFor, type RelayProcess } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG } from '../helpers/lab.ts'
import { PrinterFleet } from '../../lab-node/printers/fleet.ts'

export const OPERATOR_TOKEN = 'operator-secret-1'

export interface ConsoleStack {
  relay: RelayProcess
  console: ConsoleServer
  prints: string
  log: string[]
  /** Places a submitted order of `items` photos (L, qty 1 and 2…) and waits for its accepted receipt. */
  placeOrder(items?: number): Promise<{ orderId: string; number: string; progress: Y.Map<unknown> }>
  /** The print files the folder printer holds. */
  printFiles(): string[]
  /** A request to the console with the operator token as Bearer (`token`: another; null: none; `basic`: as HTTP Basic's password instead). */
  api(path: string, init?: RequestInit & { token?: string | null; basic?: boolean }): Promise<Response>
  close(): Promise<void>
}

export async function startConsoleStack(options: { webDir?: string; auto?: boolean } = {}): Promise<ConsoleStack> {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  const data = tempDir('labsync-console-lab-')
  const prints = join(data, 'prints')
  const log: string[] = []
  const say = (line: string) => { log.push(line) }
  const journalFile = join(data, 'lab.sqlite')
  const journal = new Journal(journalFile)
  const printer = new FilePrinter(prints)
  const link = new RelayLink(relay.url, 'lab-1', 'lab-1-secret', join(data, 'photos'))
  await link.ready(10_000)
  const queue = new PrintQueue({ labId: 'lab-1', auto: options.auto ?? false, fleet: new PrinterFleet([printer]), journal, link, log: say })
  const history = new HistoryReport(link, journal, say)
  link.queue.observe(() => queue.queueChanged())
  link.onSynced(() => queue.resume())
  const backend = consoleBackend({
    labId: 'lab-1', auto: options.auto ?? false, queue, journal, journalFile, printers: [printer], link, flushHistory: () => history.flush(), log: say,
  })
  const server = await startConsole({ host: '127.0.0.1', port: 0, token: OPERATOR_TOKEN, backend, webDir: options.webDir ?? join(data, 'no-build'), log: say })
  const customerConnections: Array<{ destroy(): void }> = []
  const me = await signUp(relay.url, 'Hanako Customer')
  let seed = 1

  return {
    relay, console: server, prints, log,
    async placeOrder(count = 1) {
      const photos = []
      for (let i = 0; i < count; i++) photos.push(await uploadPhoto(relay.url, me.token, await makePhoto(seed++, 320, 240)))
      const orderId = newOrderId()
      const c = connect(relay, `order/${orderId}`, me.token)
      customerConnections.push(c.provider)
      await synced(c.provider)
      writeSpec(c.doc, { id: orderId, user: me.userId, front: 'store-1', createdAt: new Date().toISOString(), state: 'submitted', items: photos.map((image, i) => ({ image, product: 'L', qty: i + 1 })) })
      await waitFor(() => c.doc.getMap('receipt').get('status') === 'accepted', 'the receipt', 10_000)
      await waitFor(() => link.queue.has(orderId), 'the order in the lab queue', 10_000)
      return { orderId, number: String(c.doc.getMap('receipt').get('number')), progress: c.doc.getMap('progress') }
    },
    printFiles: () => readdirSync(prints).filter((name) => name.endsWith('.jpg')).sort(),
    api(path, init = {}) {
      const token = init.token === undefined ? OPERATOR_TOKEN : init.token
      const headers = new Headers(init.headers)
      if (token !== null) headers.set('authorization', init.basic ? `Basic ${Buffer.from(`operator:${token}`).toString('base64')}` : `Bearer ${token}`)
      return fetch(`${server.url}${path}`, { ...init, headers })
    },
    async close() {
      for (const provider of customerConnections) provider.destroy()
      await server.close()
      queue.stop()
      history.stop()
      link.close()
      await printer.close()
      journal.close()
      await relay.stop()
      removeDir(relay.dataDir)
      removeDir(data)
    },
  }
}
