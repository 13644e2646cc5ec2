// The relay-kill scenario of the cluster fault tests: lab principals write their labs' history
// through the balancer, one relay is SIGKILLed mid-load and started again, and what the clients
// saw acknowledged is compared with what PostgreSQL holds.
//
// Two kinds of client. A stayer writes every `writeEveryMs`, reconnects through the balancer and
// must converge. A leaver writes as fast as its writes are echoed (a few in flight) and, once its socket drops,
// goes away (a device that trusted the acknowledgement): nothing but PostgreSQL then holds its
// writes, so an acknowledged write the kill lost stays lost. (A stayer resends its whole state
// on reconnecting, which would hide such a loss.) Each leaver has a lab room of its own, since
// another client of its room would resend its writes too.
import * as Y from 'yjs'
import { DEMO_CONFIG } from '../../relay/config.ts'
import type { Cluster } from './cluster.ts'
import { storedDoc } from './cluster.ts'
import { historyEntry, labClient, poll, written, type LoadClient } from './cluster-load.ts'
import { synced } from './relay.ts'

export const LEAVER_LABS = 6
export const STAYER_LABS = 6
const STAYERS_PER_LAB = 2

const labId = (i: number) => `load${i}`
const labKey = (i: number) => `load-lab-key-${i}-0123456789abcdef`

/** The demo catalog with one lab per room of the load. */
export function loadConfig(): object {
  const labs = Array.from({ length: LEAVER_LABS + STAYER_LABS }, (_, i) => ({ id: labId(i), name: `Load lab ${i}`, key: labKey(i), price: { L: 35 } }))
  return { ...DEMO_CONFIG, labs: [...DEMO_CONFIG.labs, ...labs] }
}

interface Tracked {
  client: LoadClient
  lab: number
  leaver: boolean
  /** Highest clock of its own writes echoed. */
  acked: number
  /** Arrival of each echo: socket index and time. */
  echoes: Array<{ socket: number; at: number }>
  /** When its socket to the killed relay closed, and that socket's index. */
  cutAt: number | null
  cutSocket: number
  gone: boolean
}

export interface KillReport {
  killed: string
  /** Clients that lost acknowledged writes, and how many writes. */
  clientsLosing: number
  writesLost: number
  acked: number
  /** Stayers on the killed relay: from the kill to the first echo on their new socket (ms). */
  unavailableMs: number[]
  /** The same stayers: from the kill to their socket's close, to their new socket's open (ms). */
  cutMs: number[]
  reopenMs: number[]
  /** Writes refused (a client racing its own sync step 2 after reconnecting), all clients. */
  refusals: number
  leaversOnKilled: number
  stayersOnKilled: number
  /** Stayers converged with PostgreSQL and each other (only checked when asked). */
  converged: boolean | null
}

/** Runs one kill: load `loadMs`, kill the busiest relay, `downMs` later restart it, `afterMs` more load. */
export async function killRelayMidLoad(cluster: Cluster, options: { loadMs?: number; downMs?: number; afterMs?: number; writeEveryMs?: number; checkConvergence?: boolean } = {}): Promise<KillReport> {
  const wsBase = cluster.proxy.url.replace(/^https/, 'wss')
  const clients: Tracked[] = []
  for (let lab = 0; lab < LEAVER_LABS + STAYER_LABS; lab++) {
    const leaver = lab < LEAVER_LABS
    for (let n = 0; n < (leaver ? 1 : STAYERS_PER_LAB); n++) clients.push(track(labClient(wsBase, labId(lab), labKey(lab), cluster.proxy.ca), lab, leaver))
  }
  let writing = true
  const stopWriting = () => { writing = false }
  try {
    await Promise.all(clients.map((c) => synced(c.client.provider, 20_000)))
    for (const c of clients) {
      if (c.leaver) leaverLoop(c, () => writing)
      else stayerLoop(c, () => writing, options.writeEveryMs ?? 30)
    }
    await sleep(options.loadMs ?? 1500)
    const victim = busiestRelay(cluster, clients)
    const killedName = cluster.nameOf(victim)
    for (const c of clients) watchCut(c, killedName)
    const killedAt = Date.now()
    await cluster.kill(victim)
    await sleep(options.downMs ?? 3000)
    await cluster.restart(victim)
    await sleep(options.afterMs ?? 1500)
    stopWriting()
    const stayers = clients.filter((c) => !c.leaver)
    await poll(() => stayers.every((c) => c.acked >= written(c.client)), 'every stayer\'s writes echoed', 30_000)
    const report = await compare(cluster, clients, killedName, killedAt)
    if (options.checkConvergence) report.converged = await converged(cluster, stayers)
    return report
  } finally {
    stopWriting()
    for (const c of clients) c.client.provider.destroy()
  }
}

function track(client: LoadClient, lab: number, leaver: boolean): Tracked {
  const tracked: Tracked = { client, lab, leaver, acked: 0, echoes: [], cutAt: null, cutSocket: -1, gone: false }
  client.onEcho.push((socket, at, clock) => {
    tracked.acked = Math.max(tracked.acked, clock)
    tracked.echoes.push({ socket, at })
  })
  return tracked
}

/** When the client's socket on `relay` closes: noted, and a leaver goes away there and then. */
function watchCut(c: Tracked, relay: string): void {
  c.client.onClose.push((socket, at) => {
    if (c.cutAt !== null || c.client.sockets[socket].relay !== relay) return
    c.cutAt = at
    c.cutSocket = socket
    if (c.leaver) {
      c.gone = true
      c.client.provider.destroy()
    }
  })
}

/** Writes not yet echoed that a leaver keeps in flight. */
const LEAVER_WINDOW = 8

/** Keeps LEAVER_WINDOW writes in flight: a new one as soon as one is echoed. */
function leaverLoop(c: Tracked, running: () => boolean): void {
  const topUp = () => {
    // Each push is its own transaction, so its own update and its own echo.
    while (running() && !c.gone && written(c.client) - c.acked < LEAVER_WINDOW) c.client.doc.getArray('history').push([historyEntry(`leaver${c.lab}`)])
  }
  c.client.onEcho.push(topUp)
  topUp()
}

function stayerLoop(c: Tracked, running: () => boolean, everyMs: number): void {
  const timer = setInterval(() => {
    if (!running()) return clearInterval(timer)
    c.client.doc.getArray('history').push([historyEntry(`stayer${c.lab}`)])
  }, everyMs)
}

/** The relay (index) serving both kinds of room, the most rooms of the scarcer kind. */
function busiestRelay(cluster: Cluster, clients: Tracked[]): number {
  let best = -1, bestScore = 0
  cluster.relays.forEach((_relay, i) => {
    const on = clients.filter((c) => c.client.sockets.at(-1)?.relay === cluster.nameOf(i))
    const score = Math.min(new Set(on.filter((c) => c.leaver).map((c) => c.lab)).size, new Set(on.filter((c) => !c.leaver).map((c) => c.lab)).size)
    if (score > bestScore) { best = i; bestScore = score }
  })
  if (best < 0) throw new Error(`no relay serves both a leaver's room and a stayer's: ${clients.map((c) => `${c.lab}:${c.client.sockets.at(-1)?.relay}`).join(' ')}`)
  return best
}

/** PostgreSQL's state vector of each lab room, against every client's acknowledged clock. */
async function compare(cluster: Cluster, clients: Tracked[], killed: string, killedAt: number): Promise<KillReport> {
  const stored = new Map<number, Map<number, number>>()
  for (const lab of new Set(clients.map((c) => c.lab))) stored.set(lab, Y.decodeStateVector(Y.encodeStateVector(await storedDoc(cluster.store, `lab/${labId(lab)}`))))
  let clientsLosing = 0, writesLost = 0, acked = 0
  for (const c of clients) {
    const have = stored.get(c.lab)!.get(c.client.doc.clientID) ?? 0
    acked += c.acked
    if (have < c.acked) { clientsLosing++; writesLost += c.acked - have }
  }
  const cut = clients.filter((c) => c.cutAt !== null)
  const unavailableMs = cut.filter((c) => !c.leaver).map((c) => {
    const back = c.echoes.find((e) => e.socket > c.cutSocket)
    return back ? back.at - killedAt : Infinity
  })
  const stayersCut = cut.filter((c) => !c.leaver)
  const cutMs = stayersCut.map((c) => c.cutAt! - killedAt)
  const reopenMs = stayersCut.map((c) => (c.client.sockets.find((s, i) => i > c.cutSocket && s.openAt > 0)?.openAt ?? Infinity) - killedAt)
  const refusals = clients.reduce((n, c) => n + c.client.refusals.length, 0)
  return { killed, clientsLosing, writesLost, acked, unavailableMs, cutMs, reopenMs, refusals, leaversOnKilled: cut.filter((c) => c.leaver).length, stayersOnKilled: cut.filter((c) => !c.leaver).length, converged: null }
}

/** Every stayer holds exactly what PostgreSQL holds for its room (same state vector and content). */
async function converged(cluster: Cluster, stayers: Tracked[]): Promise<boolean> {
  const view = (doc: Y.Doc) => JSON.stringify([[...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(), doc.getArray('history').toJSON()])
  try {
    await poll(async () => {
      for (const lab of new Set(stayers.map((c) => c.lab))) {
        const truth = view(await storedDoc(cluster.store, `lab/${labId(lab)}`))
        if (!stayers.filter((c) => c.lab === lab).every((c) => view(c.client.doc) === truth)) return false
      }
      return true
    }, 'every stayer to hold what PostgreSQL holds', 20_000, 200)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
