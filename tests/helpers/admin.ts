// The admin API served in-process for tests: createAdmin over a real SQLite database opened with
// openDatabase, filled through the stores the relay itself writes with (Receptions, History).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { parseConfig, type RelayConfig } from '../../relay/config.ts'
import { sqliteAccounts, type Accounts } from '../../relay/store/accounts.ts'
import { Authenticator } from '../../relay/auth.ts'
import { Receptions, type NewReception } from '../../relay/store/receptions.ts'
import { History } from '../../relay/store/history.ts'
import { createAdmin, type AdminDeps } from '../../relay/http/admin.ts'
import { SqliteAuditStore } from '../../storage/sqlite/audit-store.ts'
import { serveStatic } from '../../relay/http/static.ts'
import type { HistoryEntry } from '../../shared/schema.ts'
import { removeDir, tempDir } from './relay.ts'


export const ADMIN_TOKEN = 'admin-secret'
export const LAB_KEYS = { 'lab-1': 'lab-1-secret', 'lab-2': 'lab-2-secret' }

export const CONFIG = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  labs: [
    { id: 'lab-1', name: 'Central lab', key: LAB_KEYS['lab-1'], price: { L: 35 } },
    { id: 'lab-2', name: 'Harbour lab', key: LAB_KEYS['lab-2'] },
  ],
  fronts: [
    { id: 'station', name: 'Station store', lab: 'lab-1', fee: 100 },
    { id: 'harbour', name: 'Harbour store', lab: 'lab-2', fee: 0 },
  ],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] },
  admins: [{ name: 'root', token: ADMIN_TOKEN }],
}

export interface AdminServer {
  url: string
  db: DB
  config: RelayConfig
  receptions: Receptions
  history: History
  accounts: Accounts
  close(): Promise<void>
}

/**
 * The admin API on 127.0.0.1 at a free port; with `webDir`, also the built web app from that folder
 * (as the relay serves dist/), so a browser can open /admin/ before the relay routes /api/admin/.
 */
export async function startAdminServer(extra: Partial<Pick<AdminDeps, 'lastSeen' | 'queueLength' | 'reassign' | 'now'>> & { webDir?: string } = {}): Promise<AdminServer> {
  const { webDir, ...deps } = extra
  const dir = tempDir('labsync-admin-')
  const db = openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS)
  const config = parseConfig(CONFIG)
  const now = deps.now ?? Date.now
  const accounts = sqliteAccounts(db, now)
  const admin = createAdmin({ audit: new SqliteAuditStore(db), config, auth: new Authenticator(config, accounts, now), now, ...deps })
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay')
    if (url.pathname.startsWith('/api/admin/')) return void admin.handle(req, res, url)
    if (webDir && !url.pathname.startsWith('/api/')) return void serveStatic(req, res, webDir, url.pathname).catch(() => res.destroy())
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    db, config, accounts,
    receptions: new Receptions(db),
    history: new History(db),
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      db.close()
      removeDir(dir)
    },
  }
}

/** A reception as order intake would record it: one print line, the store's fee, the discount. */
export function reception(fields: Partial<NewReception> & { order: string; receivedAt: Date }): NewReception {
  const discount = fields.discount ?? null
  const prints = 70
  const fee = fields.front === 'harbour' ? 0 : 100
  const applied = discount ? Math.min(discount.amount, prints + fee) : 0
  const lines = [
    { kind: 'print' as const, label: 'L 89x127 mm × 2', amount: prints },
    ...(fee ? [{ kind: 'fee' as const, label: 'Station store service fee', amount: fee }] : []),
    ...(applied ? [{ kind: 'discount' as const, label: `Repeat-order discount (previous order within ${discount!.within})`, amount: -applied }] : []),
  ]
  return {
    user: 'user-a', front: 'station', lab: 'lab-1', status: 'accepted', error: null, currency: 'JPY',
    lines, total: prints + fee - applied, discount, storeStamp: null, ...fields,
  }
}

export function historyEntry(fields: Partial<HistoryEntry> & { id: string; order: string; printedAt: string }): HistoryEntry {
  return { item: 0, printer: 'ipp://127.0.0.1:8631/ipp/print', job: 1, copies: 2, status: 'completed', ...fields }
}

/** GET with the admin token (or the given one; null for none). */
export function get(base: string, path: string, token: string | null = ADMIN_TOKEN): Promise<Response> {
  return fetch(base + path, { headers: token === null ? {} : { authorization: `Bearer ${token}` } })
}

export async function json<T = Record<string, unknown>>(base: string, path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await get(base, path, token)
  return { status: res.status, body: (await res.json()) as T, headers: res.headers }
}
