// The `rate` workload's writers, inside a worker process: clients each on its own order, opened
// once, then driven at one offered rate after another (open loop, latency from when a write was due).
import * as Y from 'yjs'
import { writeSpec } from '../../shared/schema.ts'
import { openClient, type Client } from './clients.ts'
import { items, pool, untilSynced, type Account } from './drive.ts'
import type { SystemName } from './proc.ts'

const now = () => performance.timeOrigin + performance.now()

export interface RateOpenJob { system: SystemName; wsUrl: string; customers: Account[]; prefix: string }

/** Every client opens its own order and writes it (not measured): the steps only change a quantity. */
export async function openRateClients(job: RateOpenJob): Promise<{ clients: Client[]; errors: string[] }> {
  const errors: string[] = []
  const clients = await pool(job.customers, 64, async (account, c) => {
    const id = `${job.prefix}c${c}`
    const client = openClient(job.system, job.wsUrl, `order/${id}`, account.token)
    try {
      await untilSynced(client)
      writeSpec(client.doc, { id, user: account.userId, front: 'demo-store', createdAt: new Date().toISOString(), state: 'draft', items: items(1, c) })
      await client.echoed()
      return client
    } catch (error) {
      errors.push((error as Error).message)
      client.destroy()
      return null
    }
  })
  return { clients: clients.filter((c): c is Client => c !== null), errors }
}

export interface RateStepResult {
  latencies: number[]
  /** Writes that were due within the step (what was offered). */
  due: number
  /** Writes sent after their time because the client was still waiting for its previous echo. */
  late: number
  /** Writes never sent: past the grace period the step stops, so a server far behind ends it. */
  dropped: number
  errors: string[]
  /** Epoch milliseconds: when the first write was due, when the last echo arrived. */
  startedAt: number
  endedAt: number
  /** Writes slower than SLOW_MS (at most MAX_SLOW): [ms into the step it was due, latency ms, client index]. */
  slow: Array<[number, number, number]>
}

/** A write this slow is recorded with when it was due and whose it was: where in a step a stall fell. */
export const SLOW_MS = 100
const MAX_SLOW = 5_000

/**
 * `rate` writes/s spread evenly over `clients` for `seconds`: write k of a client is due at
 * start + offset + k x period, and its latency runs from then, so a server that falls behind is
 * charged for the writes it delayed (no coordinated omission). A client waits for each echo before
 * its next write; writes still unsent `graceSeconds` after the end are dropped, not sent.
 */
export async function runAtRate(clients: Client[], rate: number, seconds: number, graceSeconds = seconds): Promise<RateStepResult> {
  const errors: string[] = []
  const latencies: number[] = []
  const slow: Array<[number, number, number]> = []
  const period = (clients.length / rate) * 1000
  let late = 0
  let due = 0
  let dropped = 0
  const start = performance.now() + 200
  const until = start + seconds * 1000
  const cutoff = until + graceSeconds * 1000
  await Promise.all(clients.map(async (client, c) => {
    const qty = (client.doc.getMap('spec').get('items') as Y.Array<Y.Map<unknown>>).get(0)
    let broken = false
    for (let at = start + (c / clients.length) * period; at < until; at += period) {
      due++
      if (broken || performance.now() > cutoff) { dropped++; continue }
      const wait = at - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      else late++
      try {
        // A timer can fire up to a millisecond before it is due (libuv counts whole ms from the
        // start of the loop turn): a write sent early is timed from when it was sent.
        const from = Math.min(at, performance.now())
        qty.set('qty', 2 + (latencies.length % 7))
        await client.echoed(20_000)
        const latency = performance.now() - from
        latencies.push(latency)
        if (latency > SLOW_MS && slow.length < MAX_SLOW) slow.push([Math.round(at - start), Math.round(latency), c])
      } catch (error) {
        errors.push((error as Error).message)
        broken = true // this client's socket is in an unknown state: it sends nothing more
      }
    }
  }))
  return { latencies, due, late, dropped, errors, startedAt: performance.timeOrigin + start, endedAt: now(), slow }
}
