// relay/http/health.ts backgroundProbe: the loop behind /healthz's PostgreSQL and images-directory
// probes. An ask the test answers when it likes stands for a database or a hard NFS mount that hangs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backgroundProbe, type Probe } from '../../relay/http/health.ts'
import { poll } from '../helpers/cluster-load.ts'

// The probe's timers are unref'd (they must not keep a relay alive): this keeps the test's process up.
const keepAlive = setInterval(() => {}, 1000)
test.after(() => clearInterval(keepAlive))

const INTERVAL_MS = 10
const TIMEOUT_MS = 50

/** Asks answered by the test: each call waits until answer() settles it. */
function controlledAsks(): { ask: () => Promise<string | null>; calls: () => number; answer(problem: string | null): void } {
  const waiting: Array<(problem: string | null) => void> = []
  let calls = 0
  return {
    ask: () => { calls++; return new Promise((resolve) => waiting.push(resolve)) },
    calls: () => calls,
    answer: (problem) => waiting.shift()?.(problem),
  }
}

const start = (ask: () => Promise<string | null>) => backgroundProbe('the thing', ask, { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS })

test('an ask that hangs is a problem once its timeout passes, and no second ask starts until it returns', async () => {
  const asks = controlledAsks()
  const starting = start(asks.ask)
  asks.answer(null)
  const probe = await starting
  try {
    assert.is(probe.check(), null)
    await poll(() => asks.calls() === 2, 'the second ask') // it hangs: never answered
    const problem = await poll(() => probe.check(), 'the hung ask to count as failed', 2_000, 5)
    assert.is(problem, `the thing has not answered within ${TIMEOUT_MS} ms`)
    // Thirty intervals of a hang: one ask in flight all along.
    await new Promise((resolve) => setTimeout(resolve, 30 * INTERVAL_MS))
    assert.is(asks.calls(), 2)
    assert.ok(probe.check())
    asks.answer(null) // it returns at last: late, so still no good, and the loop goes on
    await poll(() => asks.calls() === 3, 'the third ask')
    assert.match(probe.check() ?? '', /^the thing answered only after \d+ ms$/)
    asks.answer(null)
    await poll(() => probe.check() === null, 'a prompt answer to clear the problem', 2_000, 5)
  } finally {
    await probe.close()
  }
})

test('a problem the ask reports is what check() says until an ask answers fine', async () => {
  let problem: string | null = 'the thing cannot be written (EROFS)'
  const probe = await start(async () => problem)
  try {
    assert.is(probe.check(), 'the thing cannot be written (EROFS)')
    problem = null
    await poll(() => probe.check() === null, 'the fine answer', 2_000, 5)
  } finally {
    await probe.close()
  }
})

test('a first ask that hangs: the probe starts after the timeout, already reporting it', async () => {
  const asks = controlledAsks()
  let probe: Probe | null = null
  try {
    probe = await start(asks.ask)
    assert.is(probe.check(), `the thing has not answered within ${TIMEOUT_MS} ms`)
    assert.is(asks.calls(), 1)
  } finally {
    await probe?.close()
    asks.answer(null)
  }
})

test('an ask that throws is a problem named by the error code alone, never its message', async () => {
  const probe = await start(async () => { throw Object.assign(new Error('password=hunter2'), { code: 'EIO' }) })
  try {
    assert.is(probe.check(), 'the thing failed (EIO)')
  } finally {
    await probe.close()
  }
})

test.run()
