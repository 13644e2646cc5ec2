// One labsync relay of a cluster for the `cluster` workload: createRelay() in cluster mode
// (documents and images in PostgreSQL, fan-out through Redis, one signing key for every relay).
// It stands in for `bin/labsync relay --store … --fanout … --images postgres --signing-key …`
// until those flags are in bin/labsync; the relay built is the same.
// Usage: node --import tsx labsync-cluster-relay.ts DATA_DIR PORT STORE_URL FANOUT_URL KEY_FILE CONFIG_FILE [ROOM_IDLE_MS]
import { createRelay } from '../../relay/server.ts'
import { loadConfigFile } from '../../relay/config.ts'
import { loadSigningKeyFile } from '../../storage/key-file.ts'
import { envWholeNumber } from '../../bin/env.ts'

const [dataDir, port, store, fanout, keyFile, configFile, roomIdleMs] = process.argv.slice(2)
if (!configFile) {
  console.error('usage: labsync-cluster-relay.ts DATA_DIR PORT STORE_URL FANOUT_URL KEY_FILE CONFIG_FILE [ROOM_IDLE_MS]')
  process.exit(2)
}

const relay = await createRelay({
  config: loadConfigFile(configFile),
  dataDir,
  host: '127.0.0.1',
  port: Number(port),
  signingKey: loadSigningKeyFile(keyFile),
  cluster: { store, fanout, images: 'postgres' },
  // The bench unloads rooms sooner than the product's 30 s (cluster-setup.ts BENCH_ROOM_IDLE_MS).
  idleUnloadMs: roomIdleMs ? Number(roomIdleMs) : undefined,
  // As bin/labsync relay reads it: for experiments on what compaction costs under load.
  compactAfterUpdates: envWholeNumber('LABSYNC_COMPACT_AFTER'),
})
// Before the ready line, as bin/labsync does: whoever started it may stop it as soon as it reads it.
const stop = async () => {
  await relay.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
console.log(`relay listening on ${relay.url}`)
