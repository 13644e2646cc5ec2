// The y-websocket messages the sync endpoint sends and reads: the four message types, and each
// frame built in one place (y-protocols encodes the payloads; this adds the type in front).
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as authProtocol from 'y-protocols/auth'

export const MESSAGE_SYNC = 0
export const MESSAGE_AWARENESS = 1
export const MESSAGE_AUTH = 2
export const MESSAGE_QUERY_AWARENESS = 3

/** Sync step 1: the state vector of `doc`, asking the other side for what it lacks. */
export function step1Message(doc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(encoder, doc)
  return encoding.toUint8Array(encoder)
}

/** Sync step 2: everything in `doc` after `stateVector`. */
export function step2Message(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2)
  encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(doc, stateVector))
  return encoding.toUint8Array(encoder)
}

/** A y-websocket permission-denied message: stock clients log it, the PWA shows it. */
export function permissionDeniedMessage(reason: string): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_AUTH)
  authProtocol.writePermissionDenied(encoder, reason)
  return encoding.toUint8Array(encoder)
}

/**
 * The sync update message for `update`, written straight into one buffer of its exact size
 * (what encoding.createEncoder + syncProtocol.writeUpdate produce, without the encoder's buffers).
 */
export function updateMessage(update: Uint8Array): Uint8Array {
  let header = 3 // MESSAGE_SYNC, messageYjsUpdate, and at least one byte of length
  for (let rest = update.length >>> 7; rest > 0; rest >>>= 7) header++
  const message = new Uint8Array(header + update.length)
  message[0] = MESSAGE_SYNC
  message[1] = syncProtocol.messageYjsUpdate
  let at = 2
  let length = update.length
  while (length > 0x7f) {
    message[at++] = 0x80 | (length & 0x7f)
    length >>>= 7
  }
  message[at++] = length
  message.set(update, at)
  return message
}

export function awarenessMessage(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return awarenessUpdateMessage(awarenessProtocol.encodeAwarenessUpdate(awareness, clients))
}

/** An awareness update already encoded (y-protocols' encodeAwarenessUpdate), as a message. */
export function awarenessUpdateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** The client ids an awareness update speaks for (its format: count, then id, clock, state). */
export function awarenessClientIds(update: Uint8Array): number[] {
  const ids: number[] = []
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  for (let i = 0; i < count; i++) {
    ids.push(decoding.readVarUint(decoder))
    decoding.readVarUint(decoder)
    decoding.readVarString(decoder)
  }
  return ids
}

/** One y-websocket message as read off the wire; `unknown` for a type or sync step this server does not speak. */
export type Message =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-step2'; update: Uint8Array }
  | { kind: 'sync-update'; update: Uint8Array }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'query-awareness' }
  /** The auth channel; its payload is read only by those who listen to it (permissionDeniedReason). */
  | { kind: 'auth'; payload: Uint8Array }
  | { kind: 'unknown' }

/** Reads one frame. Throws on a truncated one (a varint or length running past its end). */
export function readMessage(frame: Uint8Array): Message {
  const decoder = decoding.createDecoder(frame)
  switch (decoding.readVarUint(decoder)) {
    case MESSAGE_SYNC: {
      const step = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (step === syncProtocol.messageYjsSyncStep1) return { kind: 'sync-step1', stateVector: payload }
      if (step === syncProtocol.messageYjsSyncStep2) return { kind: 'sync-step2', update: payload }
      if (step === syncProtocol.messageYjsUpdate) return { kind: 'sync-update', update: payload }
      return { kind: 'unknown' }
    }
    case MESSAGE_AWARENESS:
      return { kind: 'awareness', update: decoding.readVarUint8Array(decoder) }
    case MESSAGE_QUERY_AWARENESS:
      return { kind: 'query-awareness' }
    case MESSAGE_AUTH:
      return { kind: 'auth', payload: frame.subarray(decoder.pos) }
    default:
      return { kind: 'unknown' }
  }
}

/** The reason of a permission-denied auth message, or null for any other auth message. Throws when truncated. */
export function permissionDeniedReason(payload: Uint8Array): string | null {
  const decoder = decoding.createDecoder(payload)
  if (decoding.readVarUint(decoder) !== authProtocol.messagePermissionDenied) return null
  return decoding.readVarString(decoder)
}
