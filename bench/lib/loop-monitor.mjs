// Loaded into a server with `--import` (LABSYNC_BENCH_NODE_FLAGS="--import …/loop-monitor.mjs"):
// every second it appends one JSON line to $LABSYNC_LOOP_MONITOR_DIR/<pid>.jsonl with the event
// loop's delay (p50, p99, max, ms) and the garbage collections of that second (count, total and
// longest pause, ms, by kind). For experiments on where a server's tail latency comes from; it
// costs a histogram sample every 10 ms and a line a second.
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks'
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.env.LABSYNC_LOOP_MONITOR_DIR
if (dir) {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${process.pid}.jsonl`)
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  }
  let gc = {}
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kinds[entry.detail?.kind ?? entry.kind] ?? 'other'
      const k = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 })
      k.count++
      k.totalMs += entry.duration
      k.maxMs = Math.max(k.maxMs, entry.duration)
    }
  }).observe({ entryTypes: ['gc'] })
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let cpu = process.cpuUsage()
  const round = (n) => Math.round(n * 10) / 10
  setInterval(() => {
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    for (const k of Object.values(gc)) { k.totalMs = round(k.totalMs); k.maxMs = round(k.maxMs) }
    const line = {
      t: Date.now(),
      cpuMs: Math.round((used.user + used.system) / 1000),
      heapMB: round(process.memoryUsage().heapUsed / 2 ** 20),
      loop: { p50: round(delay.percentile(50) / 1e6), p99: round(delay.percentile(99) / 1e6), max: round(delay.max / 1e6) },
      gc,
    }
    appendFileSync(file, JSON.stringify(line) + '\n')
    delay.reset()
    gc = {}
  }, 1000).unref()
}
