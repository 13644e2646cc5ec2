// `npm run bench [-- --quick] [-- --only NAME]`: runs the workloads side by side with the peer
// servers, prints a table per workload and writes bench/results/<name>.json. See bench/README.md.
import { parseArgs } from 'node:util'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { FLOOR, killAll, REFERENCES, SYSTEMS, usePlacement, type SystemName } from './lib/proc.ts'
import { allowedCpus, describe, hasTaskset, parseCpuList, pinRunning, planPlacement, type Placement } from './lib/placement.ts'
import { table, writeResult } from './lib/report.ts'
import { Workers } from './lib/workers.ts'
import { scratch, type Workload } from './workloads/context.ts'
import { sync } from './workloads/sync.ts'
import { loss } from './workloads/loss.ts'
import { pipeline } from './workloads/pipeline.ts'
import { labpull } from './workloads/labpull.ts'
import { memory } from './workloads/memory.ts'
import { coldstart } from './workloads/coldstart.ts'
import { rate } from './workloads/rate.ts'
import { pgAppend } from './workloads/pg-append.ts'
import { cluster } from './workloads/cluster.ts'
import { clusterRate } from './workloads/cluster-rate.ts'

/** Past this, a quick run starts no further workload (the slowest takes about 30 s on a busy host). */
const QUICK_BUDGET_MS = 85_000

const WORKLOADS: Record<string, Workload> = { sync, rate, loss, pipeline, labpull, coldstart, memory }
/**
 * Run only when named with --only: they need something this host may not have (pg: PostgreSQL 15;
 * cluster, cluster-rate: PostgreSQL 15, Redis 7 and haproxy). `--cluster` is `--only cluster,cluster-rate`.
 * The quick budget does not stop them: they are named on purpose and bound their own time.
 */
const OPTIONAL: Record<string, Workload> = { pg: pgAppend, cluster, 'cluster-rate': clusterRate }
const CLUSTER = ['cluster', 'cluster-rate']
const ALL: Record<string, Workload> = { ...WORKLOADS, ...OPTIONAL }

async function main(): Promise<void> {
  let values
  try {
    values = parseArgs({
      options: { quick: { type: 'boolean' }, unpinned: { type: 'boolean' }, cluster: { type: 'boolean' }, only: { type: 'string', multiple: true }, 'cpu-prof': { type: 'string' }, systems: { type: 'string' }, rounds: { type: 'string' }, rates: { type: 'string' } },
      strict: true,
    }).values
  } catch (error) {
    console.error(`bench: ${(error as Error).message.split('\n')[0]} (usage: npm run bench -- [--quick] [--unpinned] [--cluster] [--only NAME[,NAME]] [--systems NAME[,NAME]] [--rounds N] [--rates R[,R]] [--cpu-prof DIR])`)
    process.exit(2)
  }
  if (values['cpu-prof']) process.env.LABSYNC_BENCH_CPU_PROF = resolve(values['cpu-prof'])
  const only = (values.only ?? []).flatMap((v) => v.split(','))
  if (values.cluster) for (const name of CLUSTER) if (!only.includes(name)) only.push(name)
  for (const name of only) {
    if (!ALL[name]) {
      console.error(`bench: unknown workload "${name}" (${Object.keys(WORKLOADS).join(', ')}; optional: ${Object.keys(OPTIONAL).join(', ')})`)
      process.exit(2)
    }
  }
  // The Yjs floors only in a full run or when named: a quick run keeps its 2-minute promise.
  const named = (values.systems?.split(',') ?? [...SYSTEMS, ...(values.quick ? [FLOOR] : REFERENCES)]) as SystemName[]
  for (const system of named) {
    if (![...SYSTEMS, ...REFERENCES].includes(system)) {
      console.error(`bench: unknown system "${system}" (${[...SYSTEMS, ...REFERENCES].join(', ')})`)
      process.exit(2)
    }
  }
  const systems = named.filter((system) => !REFERENCES.includes(system))
  const references = REFERENCES.filter((system) => named.includes(system))
  const floor = references.includes(FLOOR)
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds)
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) {
    console.error(`bench: --rounds takes a positive whole number, not "${values.rounds}"`)
    process.exit(2)
  }
  const rates = values.rates?.split(',').map(Number)
  if (rates && !rates.every((r) => Number.isInteger(r) && r > 0)) {
    console.error(`bench: --rates takes positive whole numbers (writes/s), not "${values.rates}"`)
    process.exit(2)
  }
  const names = only.length ? only : Object.keys(WORKLOADS)
  const quick = Boolean(values.quick)
  const started = performance.now()
  const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${message}`)
  const placement = place(Boolean(values.unpinned))
  log(`placement: ${describe(placement)}`)
  const space = scratch()
  process.once('exit', space.cleanup) // also when the run dies half-way
  const workers = await Workers.start(Math.max(2, availableParallelism()))
  const tables: string[] = []
  let failed = 0
  const skipped: string[] = []
  try {
    for (const name of names) {
      // --quick promises to end within 2 minutes, whatever the neighbours on this host are doing.
      if (quick && !OPTIONAL[name] && performance.now() - started > QUICK_BUDGET_MS) {
        skipped.push(name)
        log(`${name}: SKIPPED, the quick run is past ${QUICK_BUDGET_MS / 1000} s`)
        continue
      }
      log(`${name}: starting`)
      try {
        await workers.revive()
        const result = await ALL[name]({ quick, systems, floor, references, rounds, rates, workers, log, tempDir: space.tempDir })
        const file = writeResult({ ...result, placement })
        tables.push(table({ ...result, placement }))
        log(`${name}: done, ${file}`)
      } catch (error) {
        failed++
        log(`${name}: FAILED: ${(error as Error).stack ?? error}`)
      }
    }
  } finally {
    await workers.close()
    killAll()
    space.cleanup()
  }
  console.log(`\n${tables.join('\n\n')}\n`)
  log(`${names.length - failed - skipped.length} workload(s) done, ${failed} failed, ${skipped.length} skipped (${quick ? 'quick' : 'full'} run)`)
  if (failed) process.exitCode = 1
}

/**
 * Servers on one CPU, load workers and this process on the others (bench/lib/placement.ts), set
 * before any process starts. Without taskset or a second CPU the run goes on unpinned, and says so.
 */
function place(unpinned: boolean): Placement {
  const placement = planPlacement({ unpinned, taskset: hasTaskset(), allowed: parseCpuList(allowedCpus()) })
  // This process only samples /proc and hands out jobs, but it must not take the server's CPU.
  if (placement.load !== null) pinRunning(process.pid, placement.load)
  usePlacement(placement)
  return placement
}

await main()
