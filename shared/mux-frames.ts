// The frames of the multiplexed sync endpoint (`/sync-mux`): many rooms over one WebSocket. Each
// frame is the room's name (a lib0 varString, as Hocuspocus prefixes the document name) followed by
// a y-websocket message (types 0–3, unchanged) or one of the control messages here. No I/O: the
// app's client reads and writes the same frames.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

/** Client → server: `varUint joinId`. Opens the room on this socket; y-websocket messages for it follow. */
export const MUX_JOIN = 100
/**
 * Client → server, no payload: leaves the room. Server → client: the room was closed on this
 * socket, `varUint joinId, varUint code, varString reason`, with the close codes of a one-room
 * socket (shared/errors.ts Close). Numbered as Hocuspocus's CLOSE.
 */
export const MUX_CLOSE = 7

/** Longest room name a frame may carry (room names are far shorter; a longer one is malformed). */
export const MAX_ROOM_NAME_LENGTH = 256

/** One frame as read off the wire. */
export type MuxFrame =
  /** A y-websocket message for `room`: `body` is exactly what a one-room socket would carry. */
  | { kind: 'message'; room: string; body: Uint8Array }
  | { kind: 'join'; room: string; joinId: number }
  | { kind: 'leave'; room: string }
  | { kind: 'closed'; room: string; joinId: number; code: number; reason: string }

/** Thrown for a frame that does not follow the layout above. */
export class MalformedFrameError extends Error {}

/**
 * Reads one frame. `from` says who sent it: a MUX_CLOSE from a client is a leave, from the server
 * a closed. Throws MalformedFrameError on a truncated frame, an over-long room name or an unknown type.
 */
export function readMuxFrame(frame: Uint8Array, from: 'client' | 'server'): MuxFrame {
  try {
    const decoder = decoding.createDecoder(frame)
    const room = decoding.readVarString(decoder)
    if (room.length === 0 || room.length > MAX_ROOM_NAME_LENGTH) throw new MalformedFrameError('room name empty or too long')
    const bodyStart = decoder.pos
    const type = decoding.readVarUint(decoder)
    if (type <= 3) return { kind: 'message', room, body: frame.subarray(bodyStart) }
    if (type === MUX_JOIN && from === 'client') return { kind: 'join', room, joinId: decoding.readVarUint(decoder) }
    if (type === MUX_CLOSE && from === 'client') return { kind: 'leave', room }
    if (type === MUX_CLOSE && from === 'server') {
      const joinId = decoding.readVarUint(decoder)
      const code = decoding.readVarUint(decoder)
      return { kind: 'closed', room, joinId, code, reason: decoding.readVarString(decoder) }
    }
    throw new MalformedFrameError(`unknown message type ${type}`)
  } catch (error) {
    if (error instanceof MalformedFrameError) throw error
    throw new MalformedFrameError('truncated frame') // lib0 throws plain Errors past the end
  }
}

/** `body` (a y-websocket message) for `room`. */
export function messageFrame(room: string, body: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeUint8Array(encoder, body)
  return encoding.toUint8Array(encoder)
}

export function joinFrame(room: string, joinId: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeVarUint(encoder, MUX_JOIN)
  encoding.writeVarUint(encoder, joinId)
  return encoding.toUint8Array(encoder)
}

export function leaveFrame(room: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeVarUint(encoder, MUX_CLOSE)
  return encoding.toUint8Array(encoder)
}

export function closedFrame(room: string, joinId: number, code: number, reason: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeVarUint(encoder, MUX_CLOSE)
  encoding.writeVarUint(encoder, joinId)
  encoding.writeVarUint(encoder, code)
  encoding.writeVarString(encoder, reason)
  return encoding.toUint8Array(encoder)
}
