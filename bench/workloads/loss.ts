// Workload 1b, loss window: clients write a burst (claim an order, then one item per write as fast
// as they can), wait until the server has echoed every write back, then the server is SIGKILLed at
// once, restarted on the same data, and fresh clients count what survived. Echoed but gone = lost.
// Writers are destroyed only after the kill, so nothing reaches the server after it.
import { startServer, type SystemName } from '../lib/proc.ts'
import { accounts } from '../lib/relay-api.ts'
import { HOCUSPOCUS_TOKEN } from '../lib/clients.ts'
import { peerRatios, type Metrics } from '../lib/report.ts'
import { shares } from '../lib/workers.ts'
import type { BurstRoom } from '../lib/drive.ts'
import { runTag, type Context } from './context.ts'

export async function loss(ctx: Context) {
  const rooms = ctx.quick ? 20 : 50
  const writes = ctx.quick ? 50 : 100
  ctx.log(`loss: ${rooms} rooms x (1 + ${writes}) writes, then SIGKILL`)
  const systems: Record<string, Metrics> = {}
  for (const system of ctx.systems) systems[system] = await runSystem(ctx, system, rooms, writes)
  return { workload: 'loss', systems, ratios: peerRatios(systems, ['lostPercent']) }
}

async function runSystem(ctx: Context, system: SystemName, roomCount: number, writes: number): Promise<Metrics> {
  const dataDir = ctx.tempDir(`loss-${system}`)
  let server = await startServer(system, { dataDir })
  const tag = runTag()
  const key = `loss-${system}-${tag}`
  try {
    const people = system === 'labsync' ? await accounts(server.url, 2) : [{ userId: 'peer-u0', token: HOCUSPOCUS_TOKEN }]
    const rooms: BurstRoom[] = Array.from({ length: roomCount }, (_, i) => {
      const who = people[i % people.length]
      const orderId = `loss${tag}r${i}`
      return { room: `order/${orderId}`, token: who.token, user: who.userId, orderId }
    })
    const parts = shares(rooms, ctx.workers.size)
    const bursts = await ctx.workers.all<{ acked: number; errors: string[] }>('burst', (i) => ({ key, system, wsUrl: server.wsUrl, rooms: parts[i], writes }), 120_000)
    const acked = bursts.reduce((a, b) => a + b.acked, 0)
    const burstErrors = bursts.flatMap((b) => b.errors)
    if (burstErrors.length) ctx.log(`loss ${system}: ${burstErrors.length} burst errors, first: ${burstErrors[0]}`)
    await server.kill()
    await ctx.workers.all('release', () => ({ key }))
    server = await server.restart()
    const counts = await ctx.workers.all<{ survived: number; errors: string[] }>('count', (i) => ({ system, wsUrl: server.wsUrl, rooms: parts[i] }), 60_000)
    const survived = counts.reduce((a, c) => a + c.survived, 0)
    const lost = Math.max(0, acked - survived)
    ctx.log(`loss ${system}: ${acked} echoed, ${survived} survived, ${lost} lost`)
    return {
      written: roomCount * (writes + 1),
      echoed: acked,
      survived,
      lost,
      lostPercent: acked > 0 ? (100 * lost) / acked : 0,
      errors: burstErrors.length + counts.reduce((a, c) => a + c.errors.length, 0),
    }
  } finally {
    await ctx.workers.all('release', () => ({ key })).catch(() => {})
    await server.kill()
  }
}
