// Forces a full garbage collection in a server process through the V8 inspector (the server runs
// with --inspect=127.0.0.1:0), so memory is measured on live objects rather than on garbage that
// happens not to be collected yet. Works the same for every system without touching its code.
import WebSocket from 'ws'
import { sampleProc, sleep } from './proc.ts'

export interface Inspector {
  collectGarbage(): Promise<void>
  /** V8 heap in use after the last collection, bytes. */
  heapUsed(): Promise<number>
  close(): void
}

export function inspectorUrl(output: string): string | null {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1] ?? null
}

export async function connectInspector(url: string): Promise<Inspector> {
  const socket = new WebSocket(url)
  await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject) })
  let next = 0
  const pending = new Map<number, (result: any) => void>()
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown }
    if (message.id !== undefined) { pending.get(message.id)?.(message.result); pending.delete(message.id) }
  })
  const call = (method: string): Promise<any> => new Promise((resolve, reject) => {
    const id = ++next
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`inspector ${method} timed out`)) }, 30_000)
    pending.set(id, (result) => { clearTimeout(timer); resolve(result) })
    socket.send(JSON.stringify({ id, method }))
  })
  return {
    async collectGarbage() {
      await call('HeapProfiler.collectGarbage')
    },
    async heapUsed() {
      return ((await call('Runtime.getHeapUsage')) as { usedSize: number }).usedSize
    },
    close: () => socket.close(),
  }
}

/** RSS and V8 heap in use after a forced full GC, RSS averaged over a few samples. */
export async function memoryAfterGc(pid: number, inspector: Inspector): Promise<{ rss: number; heap: number }> {
  await sleep(500) // let sockets finish their handshakes and timers settle
  await inspector.collectGarbage()
  await inspector.collectGarbage()
  const heap = await inspector.heapUsed()
  let rss = 0
  for (let i = 0; i < 5; i++) { rss += sampleProc(pid).rssBytes; await sleep(50) }
  return { rss: rss / 5, heap }
}
