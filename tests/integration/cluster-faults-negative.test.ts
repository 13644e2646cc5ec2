// The negative control of cluster-faults.test.ts: the same relay kill on relays started with
// LABSYNC_TEST_ECHO_BEFORE_COMMIT=1 (a write echoed before PostgreSQL committed it) loses writes
// clients saw acknowledged. It proves the check there can fail: if this test passes no longer
// loses anything, the check (or the switch) is broken.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startCluster, type Cluster } from '../helpers/cluster.ts'
import { killRelayMidLoad, loadConfig } from '../helpers/cluster-kill.ts'

let cluster: Cluster | null = null
test.after(async () => { await cluster?.stop() })

test('with writes echoed before their commit, a relay SIGKILLed mid-load loses acknowledged writes', async () => {
  cluster = await startCluster({ config: loadConfig(), env: { LABSYNC_TEST_ECHO_BEFORE_COMMIT: '1' } })
  // A kill lands between an echo and its commit almost always (leavers write as fast as echoes
  // come); up to five kills, so one unlucky timing does not fail the control.
  const rounds: string[] = []
  for (let round = 1; round <= 5; round++) {
    const report = await killRelayMidLoad(cluster, { loadMs: 1000, downMs: 1500, afterMs: 500 })
    rounds.push(`round ${round}: killed ${report.killed}, ${report.writesLost} of ${report.acked} acknowledged writes lost by ${report.clientsLosing} clients`)
    if (report.writesLost > 0) break
  }
  console.log(rounds.join('\n'))
  assert.ok(/ [1-9]\d* of \d+ acknowledged writes lost/.test(rounds.at(-1)!), rounds.join('\n'))
})

test.run()
