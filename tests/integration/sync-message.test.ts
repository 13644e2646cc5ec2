// The relay writes its update messages straight into one buffer: they must be byte for byte what
// y-protocols writes, for every size of varint length.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { MESSAGE_SYNC, updateMessage } from '../../shared/sync-protocol.ts'

test('updateMessage is what encoding + syncProtocol.writeUpdate write, whatever the length', () => {
  for (const length of [0, 1, 127, 128, 200, 16_383, 16_384, 70_000, 2_097_152]) {
    const update = new Uint8Array(length).map((_, i) => (i * 7) & 0xff)
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeUpdate(encoder, update)
    assert.equal(updateMessage(update), encoding.toUint8Array(encoder), `length ${length}`)
  }
})

test.run()
