// The admin API under /api/admin/: receipts (with discount decisions) and printing history by
// filter, in keyset pages as JSON or streamed as CSV; lab status; daily totals for charts; order
// reassignment, logged in admin_audit before it is attempted. Admin tokens only (Bearer header).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RelayConfig } from '../config.ts'
import type { Authenticator } from '../auth.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import type { AuditStore } from '../../storage/audit-store.ts'
import { HttpError, RightsError } from '../../shared/errors.ts'
import type { LabStatus, Page, ReceiptStatus } from '../../shared/audit.ts'
import { RECEIPT_STATUSES } from '../../shared/audit.ts'
import { sendError, sendJson } from '../../sync-server/respond.ts'
import { csvHeader, csvRow } from './csv.ts'
import { formatOf, known, listingQuery, type Param } from './admin-query.ts'
import { AUDIT_COLUMNS, HISTORY_COLUMNS, LAB_COLUMNS, RECEIPT_COLUMNS } from './admin-columns.ts'
import { sendListing, startCsv } from './admin-listing.ts'
import { dailyReport, labStatuses } from './admin-reports.ts'
import { reassignOrder } from './admin-reassign.ts'
import { labRoom } from '../room-names.ts'
import type { LabPresence } from '../store/lab-presence.ts'

export interface AdminDeps {
  /** What the admin reads and logs: the relay's SQLite database, or the cluster's PostgreSQL. */
  audit: AuditStore
  config: RelayConfig
  auth: Authenticator
  now: () => number
  /** When a lab's node last connected (epoch ms), or null; presence, when given, says more. */
  lastSeen?: (lab: string) => number | null
  /** Whether a lab node is online now, when it was last heard from, its printers (relay/store/lab-presence.ts). */
  presence?: (lab: string) => Promise<LabPresence | null> | LabPresence | null
  /** Orders in a lab's queue now; see queueLengthFromRooms. */
  queueLength?: (lab: string) => Promise<number> | number
  /** Moves an accepted order to another lab's queue; without it reassignment answers 501. */
  reassign?: (orderId: string, lab: string) => Promise<void>
}

export interface Admin {
  /** Answers any request under /api/admin/; never rejects (every error is a JSON answer). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>
}

const PREFIX = '/api/admin/'
const LISTING_PARAMS: Param[] = ['lab', 'user', 'front', 'status', 'number', 'email', 'since', 'until', 'limit', 'after', 'format']
/** History also filters by reprint=true|false. */
const HISTORY_PARAMS: Param[] = [...LISTING_PARAMS, 'reprint']
const AUDIT_PARAMS: Param[] = ['admin', 'action', 'since', 'until', 'limit', 'after', 'format']
const REASSIGN = /^orders\/([^/]+)\/reassign$/

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void

export function createAdmin(deps: AdminDeps): Admin {
  const store = deps.audit
  const { now } = deps
  const timeZone = deps.config.timeZone
  const get = (route: Route): Route => (req, res, url) => {
    allow(req, res, 'GET')
    return route(req, res, url)
  }
  const routes: Record<string, Route> = {
    receipts: get((_req, res, url) => sendReceipts(res, url, deps, store)),
    history: get((_req, res, url) => {
      const query = listingQuery(url, HISTORY_PARAMS, timeZone, 'history')
      return sendListing(res, 'history', query, (from, limit) => store.history(query.filter, from, limit), HISTORY_COLUMNS, now)
    }),
    audit: get((_req, res, url) => {
      const query = listingQuery(url, AUDIT_PARAMS, timeZone, 'audit')
      return sendListing(res, 'audit', query, (from, limit) => store.auditLog(query.filter, from, limit), AUDIT_COLUMNS, now)
    }),
    labs: get(async (_req, res, url) => {
      const format = formatOf(known(url, ['format']))
      const labs = await labStatuses(deps, store)
      if (format === 'json') return sendJson(res, 200, { rows: labs, next: null } satisfies Page<LabStatus>)
      startCsv(res, 'labs', now)
      res.end(csvHeader(LAB_COLUMNS) + labs.map((lab) => csvRow(LAB_COLUMNS, lab)).join(''))
    }),
    daily: get(async (_req, res, url) => sendJson(res, 200, await dailyReport(url, deps, store))),
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const admin = adminOf(req, res, deps.auth)
    const path = url.pathname.slice(PREFIX.length)
    const reassign = REASSIGN.exec(path)
    if (reassign) {
      allow(req, res, 'POST')
      return reassignOrder(req, res, admin, reassign[1], deps, store)
    }
    const handler = Object.hasOwn(routes, path) ? routes[path] : null
    if (!handler) throw new HttpError(404, `no such admin endpoint: ${req.method} ${url.pathname}`)
    return handler(req, res, url)
  }

  return {
    async handle(req, res, url) {
      try {
        await route(req, res, url)
      } catch (error) {
        sendError(res, error)
      }
    },
  }
}

/**
 * GET /api/admin/receipts: receptions, the first page with the totals of the whole filter, or with `status=waiting`
 * the orders waiting for photos (no reception yet: listed from what the relay waits for, with their own cursor).
 */
function sendReceipts(res: ServerResponse, url: URL, deps: AdminDeps, store: AuditStore): Promise<void> {
  const { config, now } = deps
  const status = url.searchParams.get('status') || undefined
  if (status !== undefined && !RECEIPT_STATUSES.includes(status as ReceiptStatus)) {
    throw new HttpError(400, `status: "${status.slice(0, 40)}" is not one of ${RECEIPT_STATUSES.join(', ')}`)
  }
  if (status === 'waiting') {
    const query = listingQuery(url, LISTING_PARAMS, config.timeZone, 'waiting')
    const labOf = (front: string) => config.fronts.find((f) => f.id === front)?.lab ?? ''
    return sendListing(res, 'receipts', query, (from, limit) => store.waiting(query.filter, from, limit, labOf, config.currency), RECEIPT_COLUMNS, now, 'waiting')
  }
  const query = listingQuery(url, LISTING_PARAMS, config.timeZone, 'receipts')
  return sendListing(res, 'receipts', query, (from, limit) => store.receipts(query.filter, from, limit), RECEIPT_COLUMNS, now, 'receipts', () => store.totals(query.filter))
}

/** The admin behind the request's bearer token: 401 without a valid token, 403 for anyone else. */
function adminOf(req: IncomingMessage, res: ServerResponse, auth: Authenticator): string {
  const header = req.headers.authorization
  const token = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined
  const session = auth.authenticate(token)
  if (!session) {
    res.setHeader('www-authenticate', 'Bearer')
    throw new HttpError(401, token ? 'unknown or expired token' : 'an admin token is required (Authorization: Bearer <token>)')
  }
  if (session.principal.kind !== 'admin') throw new RightsError('only admins may use the admin API')
  return session.principal.name
}

/** The `queueLength` dependency from the relay's rooms: the size of `lab/<id>`'s queue map. */
export function queueLengthFromRooms(rooms: Rooms): (lab: string) => Promise<number> {
  return (lab) => rooms.borrow(labRoom(lab), (room) => room.doc.getMap('queue').size)
}

function allow(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST'): void {
  if (req.method === method) return
  res.setHeader('allow', method)
  throw new HttpError(405, `${req.method} is not allowed here; use ${method}`)
}
