// Fair placement for the benchmark (bench/lib/placement.ts): servers on the first CPU, load on the
// rest, with taskset; unpinned only when asked or when it cannot be done, and then saying why.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { allowedCpus, checkPinned, describe, hasTaskset, onCpus, parseCpuList, PlacementError, planPlacement } from '../../bench/lib/placement.ts'

test('CPU lists in taskset syntax', () => {
  assert.equal(parseCpuList('0-1'), [0, 1])
  assert.equal(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8])
  assert.throws(() => parseCpuList('3-1'), (e: unknown) => e instanceof PlacementError)
})

test('two CPUs: servers on the first, load on the second; more CPUs all go to the load', () => {
  assert.equal(planPlacement({ unpinned: false, taskset: true, allowed: [0, 1] }), { pinned: true, server: '0', load: '1' })
  assert.equal(planPlacement({ unpinned: false, taskset: true, allowed: [2, 3, 4] }), { pinned: true, server: '2', load: '3,4' })
})

test('unpinned when asked, without taskset, or with one CPU, and the reason is said', () => {
  for (const [options, reason] of [
    [{ unpinned: true, taskset: true, allowed: [0, 1] }, /--unpinned/],
    [{ unpinned: false, taskset: false, allowed: [0, 1] }, /taskset .* not installed/],
    [{ unpinned: false, taskset: true, allowed: [0] }, /only CPU 0/],
  ] as const) {
    const placement = planPlacement(options)
    assert.is(placement.pinned, false)
    assert.is(placement.server, null)
    assert.match(describe(placement), /^UNPINNED/)
    assert.match(describe(placement), reason)
  }
})

test('onCpus wraps a command in taskset, and leaves it alone unpinned', () => {
  assert.equal(onCpus('0', 'node', ['a.js']), { command: 'taskset', args: ['-c', '0', 'node', 'a.js'] })
  assert.equal(onCpus(null, 'node', ['a.js']), { command: 'node', args: ['a.js'] })
})

test('a process started through onCpus runs on that CPU, and checkPinned tells the difference', async () => {
  if (!hasTaskset() || availableParallelism() < 2) {
    console.log('  (skipped: needs taskset and two CPUs)')
    return
  }
  const last = parseCpuList(allowedCpus()).at(-1)!
  const run = onCpus(String(last), 'sleep', ['5'])
  const child = spawn(run.command, run.args, { stdio: 'ignore' })
  try {
    // Once taskset has exec'd sleep, it has set the affinity.
    while (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'sleep') await new Promise((resolve) => setImmediate(resolve))
    assert.is(allowedCpus(child.pid!), String(last))
    checkPinned(child.pid!, String(last), 'sleep')
    assert.throws(() => checkPinned(child.pid!, allowedCpus(), 'sleep'), (e: unknown) => e instanceof PlacementError && /runs on CPU/.test((e as Error).message))
  } finally {
    child.kill('SIGKILL')
  }
})

test.run()
