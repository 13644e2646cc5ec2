// Keeps the `catalog` document in step with the configuration. The document is stored like any
// other, and only keys whose value changed are rewritten, so a device's cached copy merges cleanly.
import * as Y from 'yjs'
import { publicCatalog, type RelayConfig } from './config.ts'
import type { PublicJwk } from '../shared/signing.ts'
import type { Rooms } from '../sync-server/rooms.ts'
import { catalogRoom } from './room-names.ts'

export async function publishCatalog(rooms: Rooms, config: RelayConfig, relayKey: PublicJwk): Promise<void> {
  const catalog = { ...publicCatalog(config), relayKey } as unknown as Record<string, unknown>
  await rooms.borrow(catalogRoom(), async (room) => {
    const map = room.doc.getMap('catalog')
    const stale = Object.keys(catalog).filter((key) => JSON.stringify(map.get(key)) !== JSON.stringify(catalog[key]))
    const removed = [...map.keys()].filter((key) => !(key in catalog))
    if (stale.length === 0 && removed.length === 0) return
    await room.writeAsRelay((doc: Y.Doc) => {
      const target = doc.getMap('catalog')
      for (const key of stale) target.set(key, catalog[key])
      for (const key of removed) target.delete(key)
    })
  })
}
