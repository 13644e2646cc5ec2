// The parent's side of the load workers: forks them once per run and sends them jobs.
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { currentPlacement, forkTs } from './proc.ts'
import { checkPinned } from './placement.ts'

export class Workers {
  private next = 0
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()

  private constructor(readonly children: ChildProcess[]) {
    children.forEach((child) => this.listen(child))
  }

  static async start(count: number): Promise<Workers> {
    return new Workers(await Promise.all(Array.from({ length: count }, () => spawnWorker())))
  }

  /** Replaces workers that died (a crashed workload must not take the next ones with it). */
  async revive(): Promise<void> {
    for (let i = 0; i < this.children.length; i++) {
      const child = this.children[i]
      if (child.exitCode === null && child.signalCode === null && child.connected) continue
      this.children[i] = await spawnWorker()
      this.listen(this.children[i])
    }
  }

  private listen(child: ChildProcess): void {
    child.on('message', (message: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (message.id === undefined) return
      const waiter = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (message.ok) waiter?.resolve(message.result)
      else waiter?.reject(new Error(`worker: ${message.error}`))
    })
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`a worker exited (${code ?? signal})`))
      this.pending.clear()
    })
  }

  get size(): number { return this.children.length }

  /** Sends one job to worker `index`; rejects after `timeoutMs`. */
  send<T = any>(index: number, kind: string, payload: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    const id = ++this.next
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`worker job ${kind} timed out after ${timeoutMs} ms`)) }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T) },
        reject: (e) => { clearTimeout(timer); reject(e) },
      })
      this.children[index].send({ ...payload, id, kind }, (error: Error | null) => {
        if (error) { clearTimeout(timer); this.pending.delete(id); reject(error) }
      })
    })
  }

  /** The same kind of job on every worker, each with its own share. */
  all<T = any>(kind: string, payloadFor: (index: number) => Record<string, unknown>, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.children.map((_, i) => this.send<T>(i, kind, payloadFor(i), timeoutMs)))
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.children.map((_, i) => this.send(i, 'exit', {}, 5_000)))
    await Promise.all(this.children.map((child) => child.exitCode !== null || child.signalCode !== null ? undefined
      : new Promise<void>((resolve) => { const t = setTimeout(() => { child.kill('SIGKILL'); resolve() }, 5_000); child.once('exit', () => { clearTimeout(t); resolve() }) })))
  }
}

function spawnWorker(): Promise<ChildProcess> {
  const child = forkTs(join(import.meta.dirname, '..', 'workers', 'load.ts'))
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start in 30 s')), 30_000)
    child.once('message', () => {
      clearTimeout(timer)
      const { load } = currentPlacement()
      try {
        if (load !== null) checkPinned(child.pid!, load, 'a load worker')
        resolve(child)
      } catch (error) { child.kill('SIGKILL'); reject(error) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited ${code} at start`)) })
  })
}

/** Splits `items` into `n` round-robin shares. */
export function shares<T>(items: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => [])
  items.forEach((item, i) => out[i % n].push(item))
  return out
}
