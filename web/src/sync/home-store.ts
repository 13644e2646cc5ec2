// Where the customer's home store's lab node listens on the shop's LAN, worked out from the
// profile's `homeFront` and the catalog's fronts, and whether this page may open it at all.
import type { Front } from '../../../shared/schema.ts'

export interface HomeStore {
  /** The home store's id, or null when none is registered (or it left the catalog). */
  front: string | null
  /** Its lab node's sync address (`ws://host:port`), or null when there is none to use. */
  wsUrl: string | null
  /** The same lab node over HTTP, for uploads. */
  httpUrl: string | null
  /**
   * The page came over https and the lab node only speaks ws://: browsers refuse such mixed
   * content, so the app does not try.
   */
  blocked: boolean
}

export function homeStore(homeFront: string | null, fronts: Front[], secure: boolean): HomeStore {
  const front = fronts.find((f) => f.id === homeFront)
  const none = { front: front?.id ?? null, wsUrl: null, httpUrl: null, blocked: false }
  const url = parseLanUrl(front?.lanUrl)
  if (!url) return none
  if (secure && url.protocol === 'ws:') return { ...none, blocked: true }
  const wsUrl = url.href.replace(/\/+$/, '')
  return { ...none, wsUrl, httpUrl: wsUrl.replace(/^ws/, 'http') }
}

/** A `ws://` or `wss://` address with no query or fragment; null for anything else. */
function parseLanUrl(value: string | undefined): URL | null {
  if (!value) return null
  try {
    const url = new URL(value)
    return (url.protocol === 'ws:' || url.protocol === 'wss:') && !url.search && !url.hash ? url : null
  } catch {
    return null
  }
}
