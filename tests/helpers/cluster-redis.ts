// The Redis scenario of the cluster fault tests: each load lab room has a client on every relay
// (connected to the relays directly: the balancer would pin a room to one), so a room's writes
// reach its other clients only through the fan-out; Redis is SIGKILLed mid-load and started again.
import * as Y from 'yjs'
import type { Cluster } from './cluster.ts'
import { storedDoc } from './cluster.ts'
import { echoes, historyEntry, labClient, poll, written, type LoadClient } from './cluster-load.ts'
import { LEAVER_LABS, STAYER_LABS } from './cluster-kill.ts'
import { synced } from './relay.ts'

export interface RedisReport {
  acked: number
  writesLost: number
  /** From the end of the writes until every write was echoed to its writer. */
  echoedMs: number
  /** From the end of the writes until every client held what PostgreSQL holds; null if never (20 s). */
  convergedMs: number | null
}

export async function redisRestartMidLoad(cluster: Cluster, options: { writeEveryMs?: number } = {}): Promise<RedisReport> {
  // The stayers' labs of cluster-kill.ts: same configuration, rooms of their own.
  const labs = Array.from({ length: STAYER_LABS }, (_, i) => LEAVER_LABS + i)
  const clients: Array<{ lab: number; client: LoadClient; acked: () => number }> = []
  for (const lab of labs) {
    cluster.relays.forEach((relay) => {
      const client = labClient(relay!.wsUrl, `load${lab}`, `load-lab-key-${lab}-0123456789abcdef`)
      clients.push({ lab, client, acked: echoes(client).clock })
    })
  }
  const timers: NodeJS.Timeout[] = []
  try {
    await Promise.all(clients.map((c) => synced(c.client.provider, 20_000)))
    for (const c of clients) timers.push(setInterval(() => c.client.doc.getArray('history').push([historyEntry(`redis${c.lab}`)]), options.writeEveryMs ?? 30))
    await sleep(1000)
    await cluster.redis.kill()
    await sleep(1500)
    await cluster.redis.start()
    await sleep(1000)
    timers.forEach(clearInterval)
    const stoppedAt = Date.now()
    await poll(() => clients.every((c) => c.acked() >= written(c.client)), 'every write echoed', 30_000)
    const echoedMs = Date.now() - stoppedAt
    let acked = 0, writesLost = 0
    for (const c of clients) {
      const have = Y.decodeStateVector(Y.encodeStateVector(await storedDoc(cluster.store, `lab/load${c.lab}`))).get(c.client.doc.clientID) ?? 0
      acked += c.acked()
      writesLost += Math.max(0, c.acked() - have)
    }
    const view = (doc: Y.Doc) => JSON.stringify([[...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(), doc.getArray('history').toJSON()])
    const convergedMs = await poll(async () => {
      for (const lab of labs) {
        const truth = view(await storedDoc(cluster.store, `lab/load${lab}`))
        if (!clients.filter((c) => c.lab === lab).every((c) => view(c.client.doc) === truth)) return null
      }
      return Date.now() - stoppedAt || 1
    }, 'every client to hold what PostgreSQL holds', 20_000, 200).catch(() => null)
    return { acked, writesLost, echoedMs, convergedMs }
  } finally {
    timers.forEach(clearInterval)
    for (const c of clients) c.client.provider.destroy()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
