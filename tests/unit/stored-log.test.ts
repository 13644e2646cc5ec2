// A room's stored log (sync-server/stored-log.ts): when it compacts. Rooms written at one pace must
// not all reach their threshold in the same second (a storm of hundreds of compactions at once).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryDocStorage, MemoryDocStore } from '../../storage/memory/doc-store.ts'
import { StoredLog } from '../../sync-server/stored-log.ts'

/** A memory store that tells when a compaction is asked of it. */
class WatchedStore extends MemoryDocStore {
  onCompact = () => {}
  override compact(doc: string, snapshot: Uint8Array): Promise<void> {
    this.onCompact()
    return super.compact(doc, snapshot)
  }
}

/** The number of the append at which each of `rooms` logs, appended in lockstep, first compacted. */
function firstCompactions(rooms: number, compactAfterUpdates: number, random?: () => number): number[] {
  const store = new WatchedStore(new MemoryDocStorage())
  const at: number[] = []
  for (let r = 0; r < rooms; r++) {
    let appends = 0
    store.onCompact = () => { if (at.length === r) at.push(appends) }
    const log = new StoredLog({
      store, doc: `order/o${r}`, compactAfterUpdates, random,
      snapshot: () => new Uint8Array([0, 0]), apply: () => {}, fail: (error) => { throw error },
    }, [])
    while (at.length === r && appends < 2 * compactAfterUpdates) {
      appends++
      log.appended(new Uint8Array([appends]))
    }
  }
  return at
}

test('logs written in lockstep compact at thresholds spread a quarter either side of compactAfterUpdates', () => {
  const at = firstCompactions(200, 100)
  assert.is(at.length, 200, 'every log compacted')
  assert.ok(Math.min(...at) >= 75 && Math.max(...at) <= 125, `within 75-125: ${Math.min(...at)}-${Math.max(...at)}`)
  assert.ok(new Set(at).size >= 25, `spread, not together: ${new Set(at).size} distinct thresholds`)
})

test('the spread is drawn from random(): its ends give 75% and 125%, and a threshold of 1 stays 1', () => {
  assert.equal(firstCompactions(3, 100, () => 0), [75, 75, 75])
  assert.equal(firstCompactions(3, 100, () => 0.999999), [125, 125, 125])
  assert.equal(firstCompactions(2, 1, () => 0), [1, 1])
})

test.run()
