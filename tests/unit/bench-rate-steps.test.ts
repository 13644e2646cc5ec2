// The rate workload's limit search (bench/lib/rate-steps.ts) and what its steps add up to
// (bench/lib/rate-report.ts): doubling until a step fails, bisecting near the knee, and the
// ratios and targets of issue 19 computed from the right steps.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { betterOfTwo, commonRate, nextRate, sustainableRate, sustained, type StepOutcome, type StepPlan } from '../../bench/lib/rate-steps.ts'
import { rateRatios, type StepRecord, type SystemRun } from '../../bench/lib/rate-report.ts'

const plan: StepPlan = { startPerSec: 1_000, maxPerSec: 16_000, refinements: 1 }
const ok = (offeredPerSec: number, p99Ms = 5): StepOutcome => ({ offeredPerSec, achievedPerSec: offeredPerSec, p99Ms, errors: 0 })
const slow = (offeredPerSec: number): StepOutcome => ({ offeredPerSec, achievedPerSec: offeredPerSec, p99Ms: 80, errors: 0 })
const behind = (offeredPerSec: number): StepOutcome => ({ offeredPerSec, achievedPerSec: offeredPerSec * 0.9, p99Ms: 10, errors: 0 })

/** Runs the search against a server that sustains up to `limit` writes/s. */
function search(limit: number, p: StepPlan = plan): number[] {
  const steps: StepOutcome[] = []
  for (let r = nextRate(steps, p); r !== null; r = nextRate(steps, p)) steps.push(r <= limit ? ok(r) : slow(r))
  return steps.map((s) => s.offeredPerSec)
}

test('a step is sustained only with p99 <= 50 ms, >= 95% achieved and no errors', () => {
  assert.ok(sustained(ok(1_000, 50)))
  assert.not.ok(sustained(ok(1_000, 50.1)))
  assert.ok(sustained({ ...ok(1_000), achievedPerSec: 950 }))
  assert.not.ok(sustained(behind(1_000)))
  assert.not.ok(sustained({ ...ok(1_000), errors: 1 }))
})

test('a step run twice counts by its better run: sustained, else the lower p99', () => {
  const stalled = ok(1_000, 650) // one stall of the host in the step
  assert.is(betterOfTwo(stalled, ok(1_000, 12)).p99Ms, 12)
  assert.is(betterOfTwo(stalled, slow(1_000)).p99Ms, 80)
  assert.is(betterOfTwo(slow(1_000), stalled).p99Ms, 80)
  assert.is(betterOfTwo(slow(1_000), behind(1_000)).p99Ms, 10, 'neither sustained: the lower p99 counts')
  assert.not.ok(sustained(betterOfTwo(slow(1_000), behind(1_000))), 'neither run sustained: the step stays failed')
})

test('doubling from 1,000/s until a step fails, then one bisection near the knee', () => {
  assert.equal(search(5_000), [1_000, 2_000, 4_000, 8_000, 6_000])
  assert.equal(search(2_500), [1_000, 2_000, 4_000, 3_000])
  assert.equal(search(3_000, { ...plan, refinements: 2 }), [1_000, 2_000, 4_000, 3_000, 3_500])
})

test('a server that fails the first step is bisected below it; one that never fails stops at the cap', () => {
  assert.equal(search(600), [1_000, 500])
  assert.equal(search(1_000_000), [1_000, 2_000, 4_000, 8_000, 16_000])
})

test('the sustainable rate is the highest sustained step; the common rate the highest both sustained', () => {
  const ours = [ok(1_000), ok(2_000), ok(4_000), slow(8_000), ok(6_000)]
  const theirs = [ok(1_000), ok(2_000), behind(4_000), ok(3_000)]
  assert.is(sustainableRate(ours), 6_000)
  assert.is(sustainableRate(theirs), 3_000)
  assert.is(sustainableRate([slow(1_000)]), 0)
  assert.is(commonRate(ours, theirs), 2_000)
  assert.is(commonRate(ours, [slow(1_000)]), null)
})

const record = (s: StepOutcome, p50Ms: number, cpu: number): StepRecord => ({
  ...s, p50Ms, cpuSecondsPer1kWrites: cpu, serverCpuPercent: 0, serverWaitPercent: 0, loadCpuPercent: 0, loadWaitPercent: 0, late: 0, dropped: 0,
})
function run(steps: StepRecord[], light: StepRecord, fsyncP99Ms?: number): SystemRun {
  const metrics: Record<string, number> = { sustainablePerSec: sustainableRate(steps) }
  for (const s of [light, ...steps]) Object.assign(metrics, { [`p50Ms@${s.offeredPerSec}`]: s.p50Ms, [`p99Ms@${s.offeredPerSec}`]: s.p99Ms, [`cpuSecondsPer1kWrites@${s.offeredPerSec}`]: s.cpuSecondsPer1kWrites })
  return { metrics, steps, light, fsync: fsyncP99Ms === undefined ? undefined : { records: 100, p50Ms: 1, p99Ms: fsyncP99Ms, maxMs: fsyncP99Ms } }
}

test('ratios: sustainable rates, p99 and CPU per write at the highest common rate, and the targets as measured / target', () => {
  const labsync = run([record(ok(1_000, 4), 2, 0.1), record(ok(2_000, 6), 3, 0.1), record(ok(4_000, 9), 4, 0.1), record(slow(8_000), 40, 0.1)], record(ok(300, 5), 3, 0.2), 2)
  const hocuspocus = run([record(ok(1_000, 5), 2, 0.2), record(ok(2_000, 10), 3, 0.2), record(slow(4_000), 30, 0.2)], record(ok(300, 3), 2, 0.3))
  const ratios = rateRatios({ labsync, hocuspocus }, 300)
  const peer = ratios['labsync/hocuspocus']
  assert.is(peer.sustainablePerSec, 2)
  assert.is(peer.commonRatePerSec, 2_000)
  assert.is(peer['p99Ms@common'], 0.6)
  assert.is(peer['cpuSecondsPer1kWrites@common'], 0.5)
  const target = ratios['labsync/target']
  assert.is(target['2xHocuspocusPerSec/sustainablePerSec'], 1, '4,000/s is exactly 2 x 2,000/s')
  assert.is(target['p99Ms@common'], 1.2, '6 ms against half of 10 ms')
  assert.is(target['p99Ms@300'], 1.25, '5 ms against a 2 ms fsync p99 + 2 ms')
})

test('the durable floor gets the same targets as labsync, against the fsync measured beside labsync', () => {
  const labsync = run([record(ok(1_000, 4), 2, 0.1), record(ok(2_000, 6), 3, 0.1)], record(ok(300, 5), 3, 0.2), 2)
  const hocuspocus = run([record(ok(1_000, 5), 2, 0.2), record(ok(2_000, 10), 3, 0.2), record(slow(4_000), 30, 0.2)], record(ok(300, 3), 2, 0.3))
  const floor = run([record(ok(1_000, 3), 2, 0.15), record(ok(2_000, 4), 3, 0.3), record(ok(4_000, 8), 4, 0.3)], record(ok(300, 2), 3, 0.2))
  const ratios = rateRatios({ labsync, hocuspocus, 'durable-floor': floor }, 300)
  assert.is(ratios['labsync/durable-floor'].sustainablePerSec, 0.5)
  assert.is(ratios['durable-floor/hocuspocus']['cpuSecondsPer1kWrites@common'], 1.5)
  const target = ratios['durable-floor/target']
  assert.is(target['2xHocuspocusPerSec/sustainablePerSec'], 1)
  assert.is(target['p99Ms@common'], 0.8, '4 ms against half of 10 ms')
  assert.is(target['cpuSecondsPer1kWrites@common'], 1.5)
  assert.is(target['p99Ms@300'], 0.5, '2 ms against labsync\'s 2 ms fsync p99 + 2 ms')
})

test('the light step counts: a peer that sustains only it has its rate in common with labsync', () => {
  const labsync = run([record(ok(1_000, 4), 2, 0.1)], record(ok(300, 5), 3, 0.2), 2)
  const hocuspocus = run([record(slow(1_000), 2, 0.2), record(slow(500), 3, 0.2)], record(ok(300, 10), 2, 0.4))
  const peer = rateRatios({ labsync, hocuspocus }, 300)['labsync/hocuspocus']
  assert.is(peer.commonRatePerSec, 300)
  assert.is(peer['p99Ms@common'], 0.5)
  assert.is(peer['cpuSecondsPer1kWrites@common'], 0.5)
})

test.run()
