// A process holding one relay's links to Redis (a RedisFanout) and nothing else: what the other
// relays see of a relay. Started by tests/helpers/fanout-member-process.ts; prints `ready` once
// its heartbeats go out; SIGTERM closes it as a relay shutting down does (it says it is leaving),
// SIGKILL is a relay's death.
import { RedisFanout } from '../../sync-server/fanout/redis.ts'

const [url, heartbeatMs] = process.argv.slice(2)
const fanout = await RedisFanout.open(url, { heartbeatMs: Number(heartbeatMs) })
// The heartbeat timer is unref'd (a relay's server keeps its process alive); this one keeps itself.
const alive = setInterval(() => {}, 60_000)
process.once('SIGTERM', () => void fanout.close().then(() => { clearInterval(alive); process.exit(0) }))
console.log('ready')
