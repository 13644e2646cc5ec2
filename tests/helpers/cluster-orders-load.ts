// The customer side of the cluster order fault test: customers sign up and upload a photo through
// the balancer, then compose and submit a few orders each on stock devices, staggered so that a
// relay killed meanwhile cuts some of them mid-composition.
//
// A device cut by the kill after it wrote something goes away (an app closed while its socket was
// down): only PostgreSQL then holds what it saw acknowledged, so a lost acknowledged write stays
// lost (a device that stays resends its whole state on reconnecting, which would hide the loss).
// The customer comes back on a fresh device (a new Y.Doc, synced from the relay) and finishes the
// order from what the relay holds. A device cut before it wrote anything simply reconnects.
//
// Each customer's app also keeps their `user/<id>` document open and saves to its profile as they
// go, as fast as the relay acknowledges (a few writes in flight): the kill then lands between some
// write's echo and the next, and would land between an echo and its commit were the relay to echo
// first. A profile device cut by the kill goes away too.
import * as Y from 'yjs'
import { writeSpec, type OrderItem } from '../../shared/schema.ts'
import type { Haproxy } from './haproxy.ts'
import { poll, written, type LoadClient } from './cluster-load.ts'
import { roomDevice, signUpVia, uploadVia } from './cluster-orders.ts'
import { makePhoto, newOrderId } from './relay.ts'

export interface TrackedDevice {
  device: LoadClient
  /** Highest clock of its own writes the relay echoed (acknowledged). */
  acked: number
  /** Set when its socket to the killed relay closed. */
  cutAt: number | null
  /** When it (or the device that took over from it) was synced again after the cut. */
  backAt: number | null
  gone: boolean
}

export interface LoadOrder {
  orderId: string
  user: string
  token: string
  front: string
  items: OrderItem[]
  /** Every device this order had; the last one is live. */
  devices: TrackedDevice[]
  submittedAt: number
  /** When the live device first saw the relay's receipt `accepted`, and progress `printed` (by 50 ms). */
  acceptedAt: number | null
  printedAt: number | null
}

export interface CustomerLoad {
  orders: LoadOrder[]
  /** Each customer's `user/<id>` device (the app's profile saves): userId and device. */
  profiles: Array<{ user: string; tracked: TrackedDevice }>
  /** Stops the profile saves. */
  stopSaving(): void
  /** Set to the relay's haproxy name just before it is killed: devices watch for sockets to it closing. */
  killed: { name: string; at: number } | null
  /** Every customer's orders composed and submitted (some by a fresh device after a cut). */
  done: Promise<void>
}

export interface LoadShape {
  customers: number
  ordersPerCustomer: number
  /** Fronts to spread customers over (customer i uses fronts[i % length]). */
  fronts: string[]
  product: string
  /** Between one order's start and the next one's, per customer (ms). */
  orderEveryMs: number
}

const live = (order: LoadOrder) => order.devices.at(-1)!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Signs every customer up (with one photo), then starts their orders; `done` settles when all are submitted. */
export async function startCustomers(proxy: Haproxy, shape: LoadShape): Promise<CustomerLoad> {
  let saving = true
  const load: CustomerLoad = { orders: [], profiles: [], killed: null, done: Promise.resolve(), stopSaving: () => { saving = false } }
  const customers = await Promise.all(Array.from({ length: shape.customers }, async (_, i) => {
    const who = await signUpVia(proxy)
    const photo = await uploadVia(proxy, who.token, await makePhoto(4000 + i, 64, 48))
    return { ...who, photo, front: shape.fronts[i % shape.fronts.length] }
  }))
  for (const who of customers) load.profiles.push({ user: who.userId, tracked: profileDevice(proxy, load, who, () => saving) })
  load.done = Promise.all(customers.map(async (who, i) => {
    await sleep(i * shape.orderEveryMs / shape.customers)
    const mine: Array<Promise<void>> = []
    for (let k = 0; k < shape.ordersPerCustomer; k++) {
      const order: LoadOrder = {
        orderId: newOrderId(), user: who.userId, token: who.token, front: who.front, devices: [], submittedAt: 0, acceptedAt: null, printedAt: null,
        items: [0, 1].map(() => ({ image: who.photo, product: shape.product, qty: 1 })),
      }
      load.orders.push(order)
      mine.push(compose(proxy, load, order))
      await sleep(shape.orderEveryMs)
    }
    await Promise.all(mine)
  })).then(() => undefined)
  void watchOrders(load, shape.customers * shape.ordersPerCustomer)
  return load
}

/** Composes the order in three writes (a draft of one item, the second item, the submission). */
async function compose(proxy: Haproxy, load: CustomerLoad, order: LoadOrder): Promise<void> {
  const tracked = openDevice(proxy, load, order)
  await poll(() => tracked.device.provider.synced || live(order) !== tracked, 'the order device synced', 30_000)
  const steps: Array<(doc: Y.Doc) => void> = [
    (doc) => writeSpec(doc, { id: order.orderId, user: order.user, front: order.front, createdAt: new Date().toISOString(), state: 'draft', items: order.items.slice(0, 1) }),
    (doc) => (doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).push([itemMap(order.items[1])]),
    (doc) => { order.submittedAt = Date.now(); doc.getMap('spec').set('state', 'submitted') },
  ]
  for (const step of steps) {
    // A device that took over after a cut finishes the order itself.
    if (live(order) !== tracked) return
    step(tracked.device.doc)
    await sleep(100)
  }
}

function itemMap(item: OrderItem): Y.Map<unknown> {
  const map = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(item)) map.set(k, v)
  return map
}

/** Profile saves a device keeps in flight (written, not yet echoed). */
const SAVES_IN_FLIGHT = 4
/** How often a device tops its saves in flight up: enough to be mid-write at the kill, little CPU. */
const SAVE_EVERY_MS = 20

/** The customer's `user/<id>` device, saving to its profile while `saving()`; it goes away when the kill cuts it. */
function profileDevice(proxy: Haproxy, load: CustomerLoad, who: { userId: string; token: string }, saving: () => boolean): TrackedDevice {
  const tracked: TrackedDevice = { device: roomDevice(proxy, `user/${who.userId}`, who.token), acked: 0, cutAt: null, backAt: null, gone: false }
  tracked.device.onEcho.push((_socket, _at, clock) => { tracked.acked = Math.max(tracked.acked, clock) })
  tracked.device.onClose.push((socket, at) => {
    if (!load.killed || tracked.cutAt !== null || tracked.device.sockets[socket].relay !== load.killed.name) return
    tracked.cutAt = at
    tracked.gone = true
    tracked.device.provider.destroy()
  })
  let saves = 0
  const timer = setInterval(() => {
    if (!saving() || tracked.gone) return clearInterval(timer)
    if (!tracked.device.provider.synced) return
    // Each set is its own transaction, so its own update and its own echo.
    while (written(tracked.device) - tracked.acked < SAVES_IN_FLIGHT) tracked.device.doc.getMap('profile').set('recentPhoto', `${who.userId}-${++saves}`)
  }, SAVE_EVERY_MS)
  return tracked
}

/** A device on the order through the balancer, made the order's live one; it watches for the kill's cut. */
function openDevice(proxy: Haproxy, load: CustomerLoad, order: LoadOrder): TrackedDevice {
  const tracked: TrackedDevice = { device: roomDevice(proxy, `order/${order.orderId}`, order.token), acked: 0, cutAt: null, backAt: null, gone: false }
  order.devices.push(tracked)
  tracked.device.onEcho.push((_socket, _at, clock) => { tracked.acked = Math.max(tracked.acked, clock) })
  tracked.device.onClose.push((socket, at) => {
    if (!load.killed || tracked.cutAt !== null || tracked.device.sockets[socket].relay !== load.killed.name) return
    tracked.cutAt = at
    if (written(tracked.device) === 0) {
      tracked.device.provider.on('sync', (synced: boolean) => { if (synced && tracked.backAt === null) tracked.backAt = Date.now() })
      return
    }
    tracked.gone = true
    tracked.device.provider.destroy()
    void takeOver(proxy, load, order, tracked)
  })
  return tracked
}

/** A fresh device for the order: synced from the relay, it finishes what the relay does not hold yet. */
async function takeOver(proxy: Haproxy, load: CustomerLoad, order: LoadOrder, cut: TrackedDevice): Promise<void> {
  const fresh = openDevice(proxy, load, order)
  await poll(() => fresh.device.provider.synced || fresh.gone, 'the fresh device synced', 30_000)
  if (fresh.gone) return
  cut.backAt = Date.now()
  const spec = fresh.device.doc.getMap('spec')
  if (spec.get('state') === 'submitted') return
  fresh.device.doc.transact(() => {
    if (spec.get('id') === undefined) {
      writeSpec(fresh.device.doc, { id: order.orderId, user: order.user, front: order.front, createdAt: new Date().toISOString(), state: 'draft', items: order.items })
    } else {
      const items = spec.get('items') as Y.Array<Y.Map<unknown>>
      items.push(order.items.slice(items.length).map(itemMap))
    }
    if (!order.submittedAt) order.submittedAt = Date.now()
    spec.set('state', 'submitted')
  })
}

/** Loads closed (closeAll): their watch ends. */
const closed = new WeakSet<CustomerLoad>()

/** Notes, every 50 ms, when each order's live device first sees it accepted and printed; until all are printed. */
function watchOrders(load: CustomerLoad, total: number): Promise<void> {
  return poll(() => {
    const now = Date.now()
    for (const order of load.orders) {
      if (order.devices.length === 0) continue // its device is not open yet
      const doc = live(order).device.doc
      if (order.acceptedAt === null && doc.getMap('receipt').get('status') === 'accepted') order.acceptedAt = now
      if (order.printedAt === null && doc.getMap('progress').get('status') === 'printed') order.printedAt = now
    }
    return closed.has(load) || (load.orders.length === total && load.orders.every((order) => order.printedAt !== null))
  }, 'every order printed', 10 * 60_000, 50).then(() => undefined, () => undefined)
}

/** Waits until every order's live device has seen progress `printed`. */
export async function untilPrinted(load: CustomerLoad, timeoutMs: number): Promise<void> {
  await poll(() => load.orders.every((order) => order.printedAt !== null), 'every order printed', timeoutMs, 50)
}

/** Of `among` (haproxy names), the relay holding the most live order and profile sockets now. */
export function busiestRelay(load: CustomerLoad, among: Set<string>): string {
  const counts = new Map<string, number>([...among].map((name) => [name, 0]))
  for (const device of [...load.orders.map(live), ...load.profiles.map((p) => p.tracked)]) {
    const relay = device.device.sockets.at(-1)?.relay
    if (relay && counts.has(relay)) counts.set(relay, counts.get(relay)! + 1)
  }
  const [best] = [...counts].sort((a, b) => b[1] - a[1])
  if (!best) throw new Error('no relay to choose from')
  return best[0]
}

export function liveDevice(order: LoadOrder): TrackedDevice {
  return live(order)
}

export function closeAll(load: CustomerLoad): void {
  closed.add(load)
  load.stopSaving()
  for (const { tracked } of load.profiles) if (!tracked.gone) { tracked.gone = true; tracked.device.provider.destroy() }
  for (const order of load.orders) for (const tracked of order.devices) if (!tracked.gone) { tracked.gone = true; tracked.device.provider.destroy() }
}
