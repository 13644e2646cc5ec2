// What this device keeps between visits: the session in localStorage, and the list of local data
// to wipe on sign-out (y-indexeddb databases, stored photos, tus resume keys, sync marks).
import { PHOTO_DB } from '../photos/photo-store.ts'
import type { Session } from './api.ts'

const SESSION_KEY = 'labsync.session'
/** Prefix of every IndexedDB database and localStorage key this app writes. */
export const LOCAL_PREFIX = 'labsync'

export function loadSession(storage: Storage = localStorage): Session | null {
  try {
    const value = JSON.parse(storage.getItem(SESSION_KEY) ?? 'null') as Session | null
    return value && typeof value.token === 'string' && typeof value.userId === 'string' ? value : null
  } catch {
    return null
  }
}

export function saveSession(session: Session, storage: Storage = localStorage): void {
  storage.setItem(SESSION_KEY, JSON.stringify(session))
}

/** Whether a storage event means another tab signed out or in as someone else. */
export function isSessionChange(event: StorageEvent): boolean {
  return event.key === SESSION_KEY || event.key === null
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name)
    request.onsuccess = request.onerror = () => resolve()
    // Another tab still has it open: it closes its copy on the storage event, and deletion completes then.
    request.onblocked = () => resolve()
  })
}

/**
 * Removes everything this app stored on the device: the session, every y-indexeddb database
 * (`labsync:<room>`), the photo store, tus resume keys and sync marks. `known` names databases
 * to delete even where the browser cannot list them.
 */
export async function wipeDevice(known: string[] = [], storage: Storage = localStorage): Promise<void> {
  for (const key of Object.keys(storage)) {
    if (key.startsWith(LOCAL_PREFIX) || key.startsWith('tus::')) storage.removeItem(key)
  }
  const names = new Set([...known, PHOTO_DB])
  if (typeof indexedDB.databases === 'function') {
    for (const info of await indexedDB.databases().catch(() => [])) {
      if (info.name?.startsWith(LOCAL_PREFIX)) names.add(info.name)
    }
  }
  await Promise.all([...names].map(deleteDatabase))
}
