// A chain of nested Y.Maps written by two clients taking turns, encoded straight to the V1 update
// bytes that Y.mergeUpdates gives for it. Building a 100,000-deep chain through Y.Doc costs time
// quadratic in the depth (each change walks up to the root for its observers: 16 s here); this is
// linear, and twoClientChainByYjs (the same chain through real Y.Docs) checks it on small sizes.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'

const CONTENT_TYPE = 7 // Item content ref of a nested type
const PARENT_SUB = 0x20 // the item sits under a map key
const Y_MAP = 1 // the type ref of a Y.Map

/**
 * `turns` runs of `perTurn` maps, client 1 first then client 2, each map under key 'a' of the one
 * before, the first under the root map 'nest'; the same bytes as twoClientChainByYjs.
 */
export function twoClientChain(turns: number, perTurn: number): Uint8Array {
  // Map n (0-based along the chain) is written in turn t = floor(n / perTurn) by client 1 on even
  // turns, 2 on odd ones, at that client's clock floor(t / 2) * perTurn + n % perTurn.
  const idOf = (n: number) => {
    const turn = Math.floor(n / perTurn)
    return { client: turn % 2 === 0 ? 1 : 2, clock: Math.floor(turn / 2) * perTurn + (n % perTurn) }
  }
  const encoder = encoding.createEncoder()
  const clients = turns > 1 ? [2, 1] : [1] // mergeUpdates writes clients by id, highest first
  encoding.writeVarUint(encoder, clients.length)
  for (const client of clients) {
    const ownTurns = client === 1 ? Math.ceil(turns / 2) : Math.floor(turns / 2)
    encoding.writeVarUint(encoder, ownTurns * perTurn)
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, 0)
    for (let own = 0; own < ownTurns; own++) {
      const turn = own * 2 + (client === 1 ? 0 : 1)
      for (let k = 0; k < perTurn; k++) {
        const n = turn * perTurn + k
        encoding.writeUint8(encoder, CONTENT_TYPE | PARENT_SUB)
        if (n === 0) {
          encoding.writeVarUint(encoder, 1) // parent: a root type, by name
          encoding.writeVarString(encoder, 'nest')
        } else {
          const parent = idOf(n - 1)
          encoding.writeVarUint(encoder, 0) // parent: an item, by id
          encoding.writeVarUint(encoder, parent.client)
          encoding.writeVarUint(encoder, parent.clock)
        }
        encoding.writeVarString(encoder, 'a')
        encoding.writeVarUint(encoder, Y_MAP)
      }
    }
  }
  encoding.writeVarUint(encoder, 0) // no deletions
  return encoding.toUint8Array(encoder)
}

/** The same chain through two real Y.Docs syncing after every turn, merged with Y.mergeUpdates (quadratic: small sizes only). */
export function twoClientChainByYjs(turns: number, perTurn: number): Uint8Array {
  const a = new Y.Doc()
  a.clientID = 1
  const b = new Y.Doc()
  b.clientID = 2
  const parts: Uint8Array[] = []
  for (let i = 0; i < turns; i++) {
    const [doc, other] = i % 2 === 0 ? [a, b] : [b, a]
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)))
    const before = Y.encodeStateVector(doc)
    let map = doc.getMap('nest') as Y.Map<unknown>
    for (let inner = map.get('a'); inner instanceof Y.Map; inner = map.get('a')) map = inner
    doc.transact(() => {
      for (let k = 0; k < perTurn; k++) {
        const inner = new Y.Map<unknown>()
        map.set('a', inner)
        map = inner
      }
    })
    parts.push(Y.encodeStateAsUpdate(doc, before))
  }
  return Y.mergeUpdates(parts)
}
