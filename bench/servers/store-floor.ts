// Reference for the cluster benchmarks, not a product: the least a y-websocket server can do that
// keeps labsync's promise in a cluster (an echo means committed in PostgreSQL, other relays told
// through Redis). Like echo-floor.ts it keeps no document and checks nothing; every update goes
// through labsync's own PgDocStore (group commit) and RedisFanout (which, as on a relay, stops
// publishing a room no other process has; the floor ignores resyncs: the bench's rooms are each on
// one process), then back to every socket on its room. labsync's relays do all of this plus Yjs,
// the rights and the protocol, so against it the cluster figures show what the relay's own layer
// costs; against Hocuspocus, whether a target is reachable at all by a server that commits before
// it echoes.
//
// With `yjs` it is the Yjs store floor: the same, plus what any Yjs server that commits before it
// echoes must also do, and labsync's relays do: every update, its own clients' and other servers'
// (through the fan-out), is applied to the room's Y.Doc in memory, and sync step 1 is answered from
// it. It still checks nothing and loads nothing (each room starts empty: the bench's rooms are
// new), so it stays below any real server.
//
// With `yjs-compact` it is the compacting Yjs floor: the Yjs store floor, whose rooms also fold
// their update log into a snapshot as a relay's do (the relay's own StoredLog: every
// LABSYNC_COMPACT_AFTER appends, default 500, ±25%, and on unload), deleting the rows folded.
// Issue 18 asks for that store (an update log, compacted), so this is the least a server of that
// design does.
// Usage: node --import tsx store-floor.ts PORT STORE_URL FANOUT_URL [yjs|yjs-compact]
import * as Y from 'yjs'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { PgDocStore } from '../../storage/postgres/doc-store.ts'
import { RedisFanout } from '../../sync-server/fanout/redis.ts'
import type { Unsubscribe } from '../../sync-server/fanout/fanout.ts'
import { StoredLog, DEFAULT_COMPACT_AFTER } from '../../sync-server/stored-log.ts'
import { envWholeNumber } from '../../bin/env.ts'
import { serveRooms } from './floor-http.ts'
import { MESSAGE_SYNC, readMessage, step1Message, step2Message, updateMessage, type Message } from '../../shared/sync-protocol.ts'

/** Sync step 2 (1) carrying an empty Yjs update (no structs, empty delete set). */
const EMPTY_STEP2 = new Uint8Array([MESSAGE_SYNC, 1, 2, 0, 0])

const [port = '0', storeUrl, fanoutUrl, mode] = process.argv.slice(2)
const MODES: Record<string, string> = { yjs: 'yjs-store-floor', 'yjs-compact': 'compacting-yjs-floor' }
if (!fanoutUrl || (mode !== undefined && !MODES[mode])) {
  console.error('usage: store-floor.ts PORT STORE_URL FANOUT_URL [yjs|yjs-compact]')
  process.exit(2)
}
const title = mode ? MODES[mode] : 'store-floor'
/** Whether rooms keep a Y.Doc (the Yjs store floors). */
const withYjs = mode !== undefined
/** Rooms compact their log after about this many appends; 0: never. */
const compactAfter = mode === 'yjs-compact' ? envWholeNumber('LABSYNC_COMPACT_AFTER') ?? DEFAULT_COMPACT_AFTER : 0
const store = await PgDocStore.open(storeUrl)
const fanout = await RedisFanout.open(fanoutUrl, { prefix: title })

/**
 * The sockets on each room, its fan-out subscription (made before the first socket joins), in the
 * Yjs store floors its document, in the compacting one its log, and its last append, settled once
 * the echo has gone.
 */
interface Entry { sockets: Set<WebSocket>; unsubscribe: Promise<Unsubscribe>; doc: Y.Doc | null; log: StoredLog | null; lastAppend: Promise<void> }
const rooms = new Map<string, Entry>()
/**
 * The compacting floor's rooms whose unload (a compaction, then the store forgetting the
 * document's rows) has not settled. A room opened again meanwhile does not compact: it never
 * loads, so it cannot know what that snapshot holds, and the store is about to forget its rows.
 */
const unloading = new Map<string, Promise<void>>()

function join(room: string, ws: WebSocket): Entry {
  let entry = rooms.get(room)
  if (!entry) {
    const sockets = new Set<WebSocket>()
    const doc = withYjs ? new Y.Doc({ guid: room }) : null
    const log = doc && compactAfter > 0 && !unloading.has(room)
      ? new StoredLog({
        store, doc: room, compactAfterUpdates: compactAfter,
        snapshot: () => Y.encodeStateAsUpdate(doc),
        apply: () => {}, // it never re-reads
        fail: (error) => console.error(`${title}: ${error.message}`),
      }, [])
      : null
    // Another server's committed update: into the document, then to this room's sockets.
    const unsubscribe = fanout.subscribe(room, (update) => {
      if (doc) Y.applyUpdate(doc, update)
      log?.storedElsewhere(update)
      for (const s of sockets) s.send(updateMessage(update))
    })
    rooms.set(room, entry = { sockets, unsubscribe, doc, log, lastAppend: Promise.resolve() })
  }
  const joined = entry
  joined.sockets.add(ws)
  ws.once('close', () => {
    joined.sockets.delete(ws)
    if (joined.sockets.size > 0 || rooms.get(room) !== joined) return
    rooms.delete(room)
    void joined.unsubscribe.then((stop) => stop())
    // As a relay unloads only a settled room: its appends committed, then a long log compacted.
    const unloaded = joined.lastAppend.then(async () => {
      try {
        await joined.log?.unload()
      } finally {
        joined.doc?.destroy()
      }
    })
    if (!joined.log) return
    unloading.set(room, unloaded)
    void unloaded.finally(() => { if (unloading.get(room) === unloaded) unloading.delete(room) })
  })
  return joined
}

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', (ws: WebSocket, room: string) => {
  ws.binaryType = 'nodebuffer'
  ws.on('error', () => ws.terminate())
  const entry = join(room, ws)
  // The Yjs floor asks for what the client has that it lacks, as every y-websocket server does: a
  // client back after a reconnect to a room that was dropped meanwhile sends its whole state in
  // its step 2. Without it, the client's next writes build on items this copy never had, Yjs holds
  // them back as pending, and every later update retries them (seen: CPU per write up 4x).
  if (entry.doc) ws.send(step1Message(entry.doc))
  ws.on('message', (data: RawData) => {
    let message: Message
    try {
      message = readMessage(data as Buffer)
    } catch {
      return // a truncated frame: nothing to answer
    }
    if (message.kind === 'sync-step1') return void ws.send(entry.doc ? step2Message(entry.doc, message.stateVector) : EMPTY_STEP2)
    // A client's presence back to itself only, which feeds the stock client's 30 s watchdog as a
    // relay does for a catalog room: an idle client gets no other message, and would reconnect.
    if (message.kind === 'awareness') return void ws.send(data as Buffer)
    if (message.kind !== 'sync-step2' && message.kind !== 'sync-update') return // the rest
    const update = message.update
    if (update.length === 2 && update[0] === 0 && update[1] === 0) return // an empty step 2
    if (entry.doc) {
      try {
        Y.applyUpdate(entry.doc, update)
      } catch {
        return void ws.close(1003) // not a Yjs update: nothing stored
      }
    }
    entry.lastAppend = store.append(room, update).then(() => {
      fanout.publish(room, update)
      const echo = message.kind === 'sync-update' ? data as Buffer : updateMessage(update)
      for (const s of rooms.get(room)?.sockets ?? []) s.send(echo)
    }, (error: Error) => { console.error(`${title}: ${error.message}`); ws.close(1013) })
    entry.log?.appended(update)
  })
})

serveRooms(title, port, wss, () => Promise.allSettled([store.close(), fanout.close()]))
