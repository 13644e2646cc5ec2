// The cluster benchmark's harness (bench/workloads/cluster.ts, `npm run bench -- --cluster`) end
// to end at a tiny size, on a real PostgreSQL, Redis and haproxy: every target (labsync on 1, 2
// and 3 relays, Hocuspocus on 2 instances) sees every write echoed through the balancer, with
// the CPU of its server processes counted, and the loss step counts what one SIGKILL cost.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Workers } from '../../bench/lib/workers.ts'
import { killAll } from '../../bench/lib/proc.ts'
import { scratch } from '../../bench/workloads/context.ts'
import { runCluster } from '../../bench/workloads/cluster.ts'

test('labsync on 1, 2 and 3 relays and Hocuspocus on 2 are each measured through haproxy, and no write labsync echoed is lost to a SIGKILL', async () => {
  const space = scratch()
  const workers = await Workers.start(2)
  const sizes = { customers: 6, orders: 2, items: 2, rounds: 1, syncBudgetMs: 60_000, lossRooms: 4, lossWrites: 5 }
  try {
    const result = await runCluster({ quick: true, systems: ['labsync', 'hocuspocus'], floor: false, workers, log: () => {}, tempDir: space.tempDir }, sizes)
    for (const label of ['labsync×1', 'labsync×2', 'labsync×3', 'hocuspocus×2']) {
      const measured = result.systems[label]
      assert.ok(measured, `${label} measured`)
      assert.is(measured.errors, 0, `${label}: no client failed`)
      assert.is(measured.writes, sizes.customers * sizes.orders * (1 + sizes.items), `${label}: every write echoed`)
      assert.ok(measured.cpuSecondsPer1kWrites > 0, `${label}: its server processes' CPU counted`)
    }
    const echoed = sizes.lossRooms * (1 + sizes.lossWrites)
    assert.is(result.systems['labsync×2'].lossEchoed, echoed)
    assert.is(result.systems['labsync×2'].lost, 0, 'labsync lost an echoed write')
    assert.is(result.systems['hocuspocus×2'].lossEchoed, echoed)
    assert.ok(result.ratios['labsync×2/hocuspocus×2'].writesPerSec > 0)
    assert.ok(result.systems['labsync×3'].scalingEfficiency > 0)
  } finally {
    await workers.close()
    killAll()
    space.cleanup()
  }
})

test.run()
