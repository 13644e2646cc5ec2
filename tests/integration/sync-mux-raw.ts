// A raw client of the multiplexed endpoint for tests: one ws socket, frames read with
// shared/mux-frames.ts, each room's messages, echoes, refusals and closes kept apart.
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { MESSAGE_SYNC, permissionDeniedReason, readMessage, updateMessage } from '../../shared/sync-protocol.ts'
import { joinFrame, leaveFrame, messageFrame, readMuxFrame } from '../../shared/mux-frames.ts'
import { waitFor } from '../helpers/relay.ts'

export interface RawRoom {
  doc: Y.Doc
  /** Whether the server's sync step 2 arrived (the room is loaded and readable). */
  synced: boolean
  closed: { code: number; reason: string } | null
  denials: string[]
  /** The highest clock of this doc's own client that the server echoed (stored). */
  echoed: number
}

export interface RawMux {
  ws: WebSocket
  rooms: Map<string, RawRoom>
  /** The whole socket's close. */
  socketClosed: Promise<number>
  join(room: string, doc?: Y.Doc): RawRoom
  leave(room: string): void
  /** Writes `change` into `room`'s doc, sends it, and resolves once the server echoed it. */
  write(room: string, change: (doc: Y.Doc) => void): Promise<void>
  sendRaw(bytes: Uint8Array | string): void
}

let joins = 0

/** `autoPong: false` makes a client that answers no ping (a phone gone from the network). */
export async function openMux(wsUrl: string, token: string, options: { autoPong?: boolean } = {}): Promise<RawMux> {
  const ws = new WebSocket(`${wsUrl}/sync-mux?token=${encodeURIComponent(token)}`, { autoPong: options.autoPong ?? true })
  const rooms = new Map<string, RawRoom>()
  const socketClosed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  ws.on('message', (data: Buffer) => {
    const frame = readMuxFrame(new Uint8Array(data), 'server')
    const room = rooms.get(frame.room)
    if (!room) return
    if (frame.kind === 'closed') return void (room.closed = { code: frame.code, reason: frame.reason })
    if (frame.kind !== 'message') return
    const message = readMessage(frame.body)
    if (message.kind === 'auth') {
      const reason = permissionDeniedReason(message.payload)
      if (reason !== null) room.denials.push(reason)
      return
    }
    if (message.kind === 'sync-step1') {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2)
      encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(room.doc, message.stateVector))
      ws.send(messageFrame(frame.room, encoding.toUint8Array(encoder)))
      return
    }
    if (message.kind === 'sync-step2' || message.kind === 'sync-update') {
      Y.applyUpdate(room.doc, message.update, 'server')
      room.echoed = Math.max(room.echoed, Y.parseUpdateMeta(message.update).to.get(room.doc.clientID) ?? 0)
      if (message.kind === 'sync-step2') room.synced = true
    }
  })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  const mux: RawMux = {
    ws, rooms, socketClosed,
    join(name, doc = new Y.Doc()) {
      const room: RawRoom = { doc, synced: false, closed: null, denials: [], echoed: 0 }
      rooms.set(name, room)
      ws.send(joinFrame(name, ++joins))
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      syncProtocol.writeSyncStep1(encoder, doc)
      ws.send(messageFrame(name, encoding.toUint8Array(encoder)))
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== 'server' && ws.readyState === ws.OPEN) ws.send(messageFrame(name, updateMessage(update)))
      })
      return room
    },
    leave(name) {
      ws.send(leaveFrame(name))
      rooms.get(name)?.doc.destroy()
      rooms.delete(name)
    },
    async write(name, change) {
      const room = rooms.get(name)!
      change(room.doc)
      const clock = Y.getState(room.doc.store, room.doc.clientID)
      await waitFor(() => room.echoed >= clock || room.closed, `${name}: the echo of clock ${clock}`)
      if (room.closed) throw new Error(`${name} closed: ${room.closed.code}`)
    },
    sendRaw(bytes) { ws.send(bytes) },
  }
  return mux
}

/** Resolves once `room` synced or closed. */
export function settled(mux: RawMux, room: string, timeoutMs = 5_000): Promise<RawRoom> {
  const r = mux.rooms.get(room)!
  return waitFor(() => (r.synced || r.closed) && r, `${room} to sync or close`, timeoutMs)
}


