// The multiplexed endpoint's frame layout (shared/mux-frames.ts): each kind read back as
// written, a y-websocket message carried byte for byte, and every malformed frame a typed error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as encoding from 'lib0/encoding'
import { closedFrame, joinFrame, leaveFrame, MalformedFrameError, MAX_ROOM_NAME_LENGTH, messageFrame, MUX_CLOSE, MUX_JOIN, readMuxFrame } from '../../shared/mux-frames.ts'
import { updateMessage } from '../../shared/sync-protocol.ts'

test('a message frame is the room name as a varString, then the y-websocket message unchanged', () => {
  const body = updateMessage(new Uint8Array([1, 2, 3]))
  const frame = messageFrame('order/abc', body)
  assert.equal([...frame.subarray(0, 10)], [9, ...new TextEncoder().encode('order/abc')])
  const read = readMuxFrame(frame, 'client')
  assert.is(read.kind, 'message')
  assert.equal(read.kind === 'message' && [...read.body], [...body])
})

test('join, leave and closed read back as written; MUX_CLOSE is a leave from a client and a close from the server', () => {
  assert.equal(readMuxFrame(joinFrame('user/u1', 300), 'client'), { kind: 'join', room: 'user/u1', joinId: 300 })
  assert.equal(readMuxFrame(leaveFrame('user/u1'), 'client'), { kind: 'leave', room: 'user/u1' })
  assert.equal(readMuxFrame(closedFrame('user/u1', 7, 4403, 'Forbidden'), 'server'), { kind: 'closed', room: 'user/u1', joinId: 7, code: 4403, reason: 'Forbidden' })
  assert.is(MUX_CLOSE, 7)
  assert.is(MUX_JOIN, 100)
})

test('a truncated frame, an unknown type, a join sent by the server and an empty or over-long name are malformed', () => {
  const long = encoding.createEncoder()
  encoding.writeVarString(long, 'x'.repeat(MAX_ROOM_NAME_LENGTH + 1))
  encoding.writeVarUint(long, 0)
  const bad: Array<[Uint8Array, 'client' | 'server']> = [
    [new Uint8Array([]), 'client'],
    [new Uint8Array([5, 0x75]), 'client'], // the name runs past the end
    [new Uint8Array([1, 0x75]), 'client'], // no message type
    [new Uint8Array([1, 0x75, 42]), 'client'],
    [new Uint8Array([0, 0]), 'client'],
    [joinFrame('user/u1', 1), 'server'],
    [new Uint8Array([1, 0x75, MUX_JOIN]), 'client'], // a join without its id
    [encoding.toUint8Array(long), 'client'],
  ]
  for (const [frame, from] of bad) assert.throws(() => readMuxFrame(frame, from), (error: unknown) => error instanceof MalformedFrameError, `${[...frame]} from ${from}`)
})

test.run()
