// Placing orders at a real relay from stock y-websocket clients, for the order-intake tests: a
// customer with an uploaded photo, an order written and submitted, the relay's receipt awaited.
import * as Y from 'yjs'
import { writeSpec, type OrderItem, type OrderSpec, type Receipt } from '../../shared/schema.ts'
import { connect, makePhoto, newOrderId, removeDir, signUp, startRelay, synced, tempDir, uploadPhoto, waitFor, type RelayProcess } from './relay.ts'

export interface Customer { userId: string; token: string; email: string; photo: string }

/** Something to destroy when a test ends (stock providers). */
export type Closer = { destroy(): void }

/** A new account with one uploaded photo. */
export async function customer(relay: RelayProcess, name = 'Customer'): Promise<Customer> {
  const account = await signUp(relay.url, name)
  const photo = await uploadPhoto(relay.url, account.token, await makePhoto(Math.floor(Math.random() * 100_000)))
  return { ...account, photo }
}

/** Composes an order on a stock client and submits it; `opened` collects the provider to destroy. */
export async function submitOrder(
  relay: RelayProcess, who: Customer, opened: Closer[],
  opts: { front?: string; pickupFront?: string; items?: OrderItem[]; orderId?: string } = {},
): Promise<{ orderId: string; doc: Y.Doc }> {
  const orderId = opts.orderId ?? newOrderId()
  const { doc, provider } = connect(relay, `order/${orderId}`, who.token)
  opened.push(provider)
  await synced(provider)
  const spec: OrderSpec = {
    id: orderId, user: who.userId, front: opts.front ?? 'store-1', createdAt: new Date().toISOString(), state: 'draft',
    items: opts.items ?? [{ image: who.photo, product: 'L', qty: 2 }],
  }
  if (opts.pickupFront) spec.pickupFront = opts.pickupFront
  writeSpec(doc, spec)
  doc.getMap('spec').set('state', 'submitted')
  return { orderId, doc }
}

/** The receipt once it has `status` (any status when not given). */
export function receiptWith(doc: Y.Doc, status?: Receipt['status'], timeoutMs = 10_000): Promise<Receipt> {
  return waitFor(() => {
    const now = doc.getMap('receipt').get('status')
    return now && (status === undefined || now === status) ? doc.getMap('receipt').toJSON() as Receipt : null
  }, `the receipt${status ? ` (${status})` : ''}`, timeoutMs)
}

/** The relay's final word: accepted or rejected, not waiting for photos. */
export function finalReceipt(doc: Y.Doc, timeoutMs = 10_000): Promise<Receipt> {
  return waitFor(() => {
    const status = doc.getMap('receipt').get('status')
    return status && status !== 'waiting' ? doc.getMap('receipt').toJSON() as Receipt : null
  }, 'the final receipt', timeoutMs)
}

/**
 * The relays, clients and data folders of one test file: `start` a relay (in a new folder, or
 * again in one), `down` one (its clients first; SIGKILL with `kill`), `closeEach` after each test,
 * `removeDirs` at the end. A failed test still leaves nothing running.
 */
export class Testbed {
  readonly opened: Closer[] = []
  private readonly relays: RelayProcess[] = []
  private readonly dirs: string[] = []

  async start(config: object, options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<RelayProcess> {
    const dir = options.dataDir ?? this.newDir()
    const relay = await startRelay({ config, dataDir: dir, env: options.env })
    this.relays.push(relay)
    return relay
  }

  newDir(): string {
    const dir = tempDir()
    this.dirs.push(dir)
    return dir
  }

  async down(relay: RelayProcess, how: 'stop' | 'kill' = 'stop'): Promise<void> {
    for (const p of this.opened.splice(0)) p.destroy()
    await (how === 'kill' ? relay.kill() : relay.stop())
    this.relays.splice(this.relays.indexOf(relay), 1)
  }

  async closeEach(): Promise<void> {
    for (const p of this.opened.splice(0)) p.destroy()
    for (const relay of this.relays.splice(0)) await relay.kill()
  }

  removeDirs(): void {
    for (const dir of this.dirs.splice(0)) removeDir(dir)
  }
}
