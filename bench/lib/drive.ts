// What the load workers do with their clients: customers writing orders, sockets held open,
// bursts before a crash and the count after it, submissions to receipt, and a lab's pull (the
// fixed-rate writers are in drive-rate.ts).
// Runs inside a worker process, never in the server's.
import * as Y from 'yjs'
import { writeSpec, type OrderItem } from '../../shared/schema.ts'
import { openClient, type Client } from './clients.ts'
import type { SystemName } from './proc.ts'

export interface Account { userId: string; token: string; photo?: string }

const now = () => performance.timeOrigin + performance.now()
const FAKE_IMAGE = (n: number) => n.toString(16).padStart(64, 'a').slice(-64)

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index], index)
    }
  })
  await Promise.all(lanes)
  return results
}

export function items(count: number, seed: number, photo?: string): OrderItem[] {
  return Array.from({ length: count }, (_, i) => ({ image: photo ?? FAKE_IMAGE(seed * 1000 + i), product: 'L', qty: 1 }))
}

export async function untilSynced(client: Client, timeoutMs = 30_000): Promise<number> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  await Promise.race([client.synced, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('sync timed out')), timeoutMs) })])
    .finally(() => clearTimeout(timer))
  return performance.now() - started
}

// ---------------------------------------------------------------- sync workload

export interface SyncJob {
  system: SystemName
  wsUrl: string
  customers: Account[]
  orders: number
  items: number
  prefix: string
  connectConcurrency: number
}

export interface SyncResult {
  writes: number
  latencies: number[]
  /** The first write of each order (creates it with its items) and the later ones (one quantity each). */
  createLatencies: number[]
  editLatencies: number[]
  connectMs: number[]
  errors: string[]
  startedAt: number
  endedAt: number
}

/** Customers with their first order room open and synced, waiting for `run()`. */
export async function prepareCustomers(job: SyncJob) {
  const connectMs: number[] = []
  const errors: string[] = []
  const orderId = (c: number, o: number) => `${job.prefix}c${c}o${o}`
  const first = await pool(job.customers, job.connectConcurrency, async (account, c) => {
    const client = openClient(job.system, job.wsUrl, `order/${orderId(c, 0)}`, account.token)
    try {
      connectMs.push(await untilSynced(client))
      return client
    } catch (error) {
      errors.push((error as Error).message)
      client.destroy()
      return null
    }
  })

  const createLatencies: number[] = []
  const editLatencies: number[] = []
  async function customer(account: Account, c: number, latencies: number[]): Promise<number> {
    let writes = 0
    for (let o = 0; o < job.orders; o++) {
      let client = o === 0 ? first[c] : null
      if (o === 0 && client === null) return 0
      try {
        if (client === null) {
          client = openClient(job.system, job.wsUrl, `order/${orderId(c, o)}`, account.token)
          connectMs.push(await untilSynced(client))
        }
        const id = orderId(c, o)
        // Write 1 creates the order with its items; then one write per item (the customer changes a quantity).
        let started = performance.now()
        writeSpec(client.doc, { id, user: account.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: items(job.items, c) })
        await client.echoed()
        latencies.push(performance.now() - started)
        createLatencies.push(performance.now() - started)
        writes++
        const list = client.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>
        for (let i = 0; i < job.items; i++) {
          started = performance.now()
          list.get(i).set('qty', 2 + o)
          await client.echoed()
          latencies.push(performance.now() - started)
          editLatencies.push(performance.now() - started)
          writes++
        }
      } catch (error) {
        errors.push((error as Error).message)
        client?.destroy()
        return writes
      }
      client.destroy()
    }
    return writes
  }

  return {
    connectMs,
    errors,
    opened: first.filter((c) => c !== null).length,
    async run(): Promise<SyncResult> {
      const latencies: number[] = []
      const startedAt = now()
      const counts = await Promise.all(job.customers.map((account, c) => customer(account, c, latencies)))
      const endedAt = now()
      return { writes: counts.reduce((a, b) => a + b, 0), latencies, createLatencies, editLatencies, connectMs, errors, startedAt, endedAt }
    },
    close() { for (const client of first) client?.destroy() },
  }
}

// ---------------------------------------------------------------- held connections (memory)

export interface HoldRoom { room: string; token: string; /** Write a small order (3 items) as this user first. */ writeOrderAs?: string }

export async function holdRooms(system: SystemName, wsUrl: string, rooms: HoldRoom[], concurrency: number) {
  const errors: string[] = []
  const clients = await pool(rooms, concurrency, async (hold) => {
    const client = openClient(system, wsUrl, hold.room, hold.token)
    try {
      await untilSynced(client)
      if (hold.writeOrderAs) {
        const id = hold.room.slice('order/'.length)
        writeSpec(client.doc, { id, user: hold.writeOrderAs, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: items(3, 7) })
        await client.echoed()
      }
    } catch (error) {
      errors.push((error as Error).message)
    }
    return client
  })
  return { clients, errors }
}

// ---------------------------------------------------------------- loss window

export interface BurstRoom { room: string; token: string; user: string; orderId: string }

/** Claims each order, appends `writes` items one write each as fast as possible, waits for every echo. */
export async function burst(system: SystemName, wsUrl: string, rooms: BurstRoom[], writes: number) {
  const errors: string[] = []
  let acked = 0
  const clients = await Promise.all(rooms.map(async (r) => {
    const client = openClient(system, wsUrl, r.room, r.token)
    try {
      await untilSynced(client)
      writeSpec(client.doc, { id: r.orderId, user: r.user, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: [] })
      const list = client.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>
      for (let i = 0; i < writes; i++) {
        const item = new Y.Map<unknown>()
        item.set('image', FAKE_IMAGE(i)); item.set('product', 'L'); item.set('qty', 1)
        list.push([item])
      }
      await client.echoed(20_000)
      acked += writes + 1
    } catch (error) {
      errors.push((error as Error).message)
    }
    return client
  }))
  return { clients, acked, errors }
}

/** Fresh clients (empty documents) count what the server kept: 1 for the claim plus one per item. */
export async function countSurvivors(system: SystemName, wsUrl: string, rooms: BurstRoom[]): Promise<{ survived: number; errors: string[] }> {
  const errors: string[] = []
  const counts = await Promise.all(rooms.map(async (r) => {
    const client = openClient(system, wsUrl, r.room, r.token)
    try {
      await untilSynced(client)
      // A server may load its store after answering the first sync: wait until the count holds still.
      const count = () => {
        const spec = client.doc.getMap('spec')
        const list = spec.get('items') as Y.Array<unknown> | undefined
        return spec.size === 0 ? 0 : 1 + (list?.length ?? 0)
      }
      let last = -1
      let stableSince = performance.now()
      const deadline = performance.now() + 3_000
      while (performance.now() < deadline) {
        const current = count()
        if (current !== last) { last = current; stableSince = performance.now() }
        if (performance.now() - stableSince > 400) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return last
    } catch (error) {
      errors.push((error as Error).message)
      return 0
    } finally {
      client.destroy()
    }
  }))
  return { survived: counts.reduce((a, b) => a + b, 0), errors }
}

// ---------------------------------------------------------------- order pipeline (labsync)

export interface SubmitJob { wsUrl: string; customers: Account[]; ordersEach: number; items: number; prefix: string }

/** Each customer composes orders one after another and submits; latency is submit write to receipt seen. */
export async function submitOrders(job: SubmitJob) {
  const latencies: number[] = []
  const errors: string[] = []
  let accepted = 0
  let rejected = 0
  let discounted = 0
  const startedAt = now()
  await Promise.all(job.customers.map(async (account, c) => {
    for (let o = 0; o < job.ordersEach; o++) {
      const id = `${job.prefix}c${c}o${o}`
      const client = openClient('labsync', job.wsUrl, `order/${id}`, account.token)
      try {
        await untilSynced(client)
        writeSpec(client.doc, { id, user: account.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: items(job.items, c, account.photo) })
        await client.echoed()
        const receipt = client.doc.getMap('receipt')
        const started = performance.now()
        const arrived = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no receipt for ${id} within 30 s`)), 30_000)
          const look = () => { if (receipt.get('status')) { clearTimeout(timer); receipt.unobserve(look); resolve() } }
          receipt.observe(look)
          look()
        })
        client.doc.getMap('spec').set('state', 'submitted')
        await arrived
        latencies.push(performance.now() - started)
        if (receipt.get('status') === 'accepted') accepted++
        else { rejected++; errors.push(`rejected: ${String(receipt.get('error'))}`) }
        if (receipt.get('discount')) discounted++
      } catch (error) {
        errors.push((error as Error).message)
      } finally {
        client.destroy()
      }
    }
  }))
  return { latencies, errors, accepted, rejected, discounted, startedAt, endedAt: now() }
}

// ---------------------------------------------------------------- lab pull (labsync)

export interface LabPullJob { wsUrl: string; labId: string; key: string; concurrency: number }

/** The lab opens its queue, then every order in it: time, and bytes received, until all are synced. */
export async function labPull(job: LabPullJob) {
  const started = performance.now()
  const lab = openClient('labsync', job.wsUrl, `lab/${job.labId}`, job.key)
  await untilSynced(lab)
  const queued = [...lab.doc.getMap('queue').keys()]
  const queueMs = performance.now() - started
  const clients: Client[] = []
  const errors: string[] = []
  let complete = 0
  await pool(queued, job.concurrency, async (orderId) => {
    const client = openClient('labsync', job.wsUrl, `order/${orderId}`, job.key)
    clients.push(client)
    try {
      await untilSynced(client)
      const spec = client.doc.getMap('spec')
      if (spec.get('id') === orderId && (spec.get('items') as Y.Array<unknown>).length > 0 && client.doc.getMap('receipt').get('lab') === job.labId) complete++
      else errors.push(`order ${orderId} arrived incomplete`)
    } catch (error) {
      errors.push((error as Error).message)
    }
  })
  const ms = performance.now() - started
  const orderBytes = clients.reduce((sum, c) => sum + c.bytes().in, 0)
  const rawBytes = clients.reduce((sum, c) => sum + c.bytes().rawIn, 0) + lab.bytes().rawIn
  const docBytes = clients.reduce((sum, c) => sum + Y.encodeStateAsUpdate(c.doc).byteLength, 0)
  for (const client of clients) client.destroy()
  lab.destroy()
  return { ms, queueMs, queued: queued.length, complete, errors, orderBytes, labBytes: lab.bytes().in, rawBytes, docBytes }
}
