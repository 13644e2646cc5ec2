// Placing orders at a real relay from stock y-websocket clients, for the order-intake tests: a
// customer with an uploaded photo, an order written and submitted, the relay's receipt awaited.
import * as Y from 'yjs'
import { writeSpec, type OrderItem, type OrderSpec, type Receipt } from '../../shared/schema.ts'
import { connect, makePhoto, newOrderId, signUp, synced, uploadPhoto, waitFor, type RelayProcess } from './relay.ts'

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
