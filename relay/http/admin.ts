// The admin API under /api/admin/: receipts (with discount decisions) and printing history by
// filter, in keyset pages as JSON or streamed as CSV; lab status; daily totals for charts; order
// reassignment, logged in admin_audit before it is attempted. Admin tokens only (Bearer header).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DB } from '../../storage/sqlite/database.ts'
import type { RelayConfig } from '../config.ts'
import type { Authenticator } from '../auth.ts'
import type { Rooms } from '../../sync-server/rooms.ts'
import { AuditStore, type AuditFilter, type Listed, type Position } from '../store/audit.ts'
import { HttpError, RightsError } from '../../shared/errors.ts'
import { ID_PATTERN, roomName } from '../../shared/schema.ts'
import { addDuration } from '../../shared/period.ts'
import type { AuditEntry, DailyReport, HistoryRow, LabStatus, Page, ReceiptRow } from '../../shared/audit.ts'
import { RECEPTION_STATUSES } from '../../shared/audit.ts'
import { readJson, requireString, sendError, sendJson } from '../../sync-server/respond.ts'
import { csvHeader, csvRow, type Columns } from './csv.ts'
import { dayOf, daysBetween, encodeCursor, formatOf, known, listingQuery, parseInstant, type ListingQuery, type Param } from './admin-query.ts'

export interface AdminDeps {
  db: DB
  config: RelayConfig
  auth: Authenticator
  now: () => number
  /** When a lab's node last connected (epoch ms), or null. */
  lastSeen?: (lab: string) => number | null
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
const LISTING_PARAMS: Param[] = ['lab', 'user', 'front', 'status', 'since', 'until', 'limit', 'after', 'format']
const AUDIT_PARAMS: Param[] = ['admin', 'action', 'since', 'until', 'limit', 'after', 'format']
/** Rows read per statement while streaming CSV: the connection is never held across a wait. */
const CSV_ROWS_PER_READ = 1000
const CSV_FLUSH_CHARS = 64 * 1024
const DAILY_DEFAULT_DAYS = 30
const DAILY_MAX_DAYS = 400
const REASSIGN = /^orders\/([^/]+)\/reassign$/

const sumLines = (row: ReceiptRow, kind: string) => row.lines.reduce((sum, line) => sum + (line.kind === kind ? line.amount : 0), 0)

const RECEIPT_COLUMNS: Columns<ReceiptRow> = [
  ['receivedAt', (r) => r.receivedAt], ['seq', (r) => r.seq], ['order', (r) => r.order], ['user', (r) => r.user],
  ['front', (r) => r.front], ['lab', (r) => r.lab], ['status', (r) => r.status], ['error', (r) => r.error],
  ['currency', (r) => r.currency], ['prints', (r) => sumLines(r, 'print')], ['fee', (r) => sumLines(r, 'fee')],
  ['discountApplied', (r) => r.discountApplied], ['total', (r) => r.total],
  ['discountWithin', (r) => r.discount?.within], ['discountTierAmount', (r) => r.discount?.amount],
  ['discountPreviousOrder', (r) => r.discount?.previousOrder], ['discountPreviousReceivedAt', (r) => r.discount?.previousReceivedAt],
  ['inStoreLab', (r) => r.inStore?.lab], ['inStoreStampedAt', (r) => r.inStore?.stampedAt], ['inStoreStampUsed', (r) => r.inStore ? String(r.inStore.used) : null],
]
const HISTORY_COLUMNS: Columns<HistoryRow> = [
  ['printedAt', (h) => h.printedAt], ['id', (h) => h.id], ['lab', (h) => h.lab], ['order', (h) => h.order], ['item', (h) => h.item],
  ['copies', (h) => h.copies], ['status', (h) => h.status], ['printer', (h) => h.printer], ['job', (h) => h.job],
  ['user', (h) => h.user], ['front', (h) => h.front], ['receivedAt', (h) => h.receivedAt],
]
const LAB_COLUMNS: Columns<LabStatus> = [
  ['id', (l) => l.id], ['name', (l) => l.name], ['queue', (l) => l.queue], ['lastHistoryAt', (l) => l.lastHistoryAt],
  ['lastPrintedAt', (l) => l.lastPrintedAt], ['lastSeen', (l) => l.lastSeen],
]
const AUDIT_COLUMNS: Columns<AuditEntry> = [
  ['at', (a) => a.at], ['id', (a) => a.id], ['admin', (a) => a.admin], ['action', (a) => a.action], ['detail', (a) => JSON.stringify(a.detail)],
]

export function createAdmin(deps: AdminDeps): Admin {
  const store = new AuditStore(deps.db)
  const { config, now } = deps
  const timeZone = config.timeZone

  /** The admin behind the request's bearer token: 401 without a valid token, 403 for anyone else. */
  function adminOf(req: IncomingMessage, res: ServerResponse): string {
    const header = req.headers.authorization
    const token = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined
    const session = deps.auth.authenticate(token)
    if (!session) {
      res.setHeader('www-authenticate', 'Bearer')
      throw new HttpError(401, token ? 'unknown or expired token' : 'an admin token is required (Authorization: Bearer <token>)')
    }
    if (session.principal.kind !== 'admin') throw new RightsError('only admins may use the admin API')
    return session.principal.name
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const admin = adminOf(req, res)
    const path = url.pathname.slice(PREFIX.length)
    const reassign = REASSIGN.exec(path)
    if (reassign) {
      allow(req, res, 'POST')
      return reassignOrder(req, res, admin, reassign[1])
    }
    switch (path) {
      case 'receipts': {
        allow(req, res, 'GET')
        const query = listingQuery(url, LISTING_PARAMS, timeZone, 'receipts')
        const status = query.filter.status
        if (status !== undefined && !RECEPTION_STATUSES.includes(status as ReceiptRow['status'])) {
          throw new HttpError(400, `status: "${status}" is not one of ${RECEPTION_STATUSES.join(', ')}`)
        }
        return list(res, 'receipts', query, (from, limit) => store.receipts(query.filter, from, limit), RECEIPT_COLUMNS)
      }
      case 'history': {
        allow(req, res, 'GET')
        const query = listingQuery(url, LISTING_PARAMS, timeZone, 'history')
        return list(res, 'history', query, (from, limit) => store.history(query.filter, from, limit), HISTORY_COLUMNS)
      }
      case 'audit': {
        allow(req, res, 'GET')
        const query = listingQuery(url, AUDIT_PARAMS, timeZone, 'audit')
        return list(res, 'audit', query, (from, limit) => store.auditLog(query.filter, from, limit), AUDIT_COLUMNS)
      }
      case 'labs': {
        allow(req, res, 'GET')
        const format = formatOf(known(url, ['format']))
        const labs = await labStatuses()
        if (format === 'json') return sendJson(res, 200, { rows: labs, next: null } satisfies Page<LabStatus>)
        startCsv(res, 'labs')
        return void res.end(csvHeader(LAB_COLUMNS) + labs.map((lab) => csvRow(LAB_COLUMNS, lab)).join(''))
      }
      case 'daily':
        allow(req, res, 'GET')
        return sendJson(res, 200, daily(url))
      default:
        throw new HttpError(404, `no such admin endpoint: ${req.method} ${url.pathname}`)
    }
  }

  async function list<Row>(res: ServerResponse, kind: string, query: ListingQuery, read: (from: Position | null, limit: number) => Listed<Row>, columns: Columns<Row>): Promise<void> {
    if (query.format === 'json') {
      const listed = read(query.after, query.limit + 1)
      const rows = [...listed.rows]
      const more = rows.length > query.limit
      if (more) rows.length = query.limit
      return sendJson(res, 200, { rows, next: more ? encodeCursor(kind, listed.positionOf(rows[rows.length - 1])) : null } satisfies Page<Row>)
    }
    startCsv(res, kind)
    let text = csvHeader(columns)
    let from = query.after
    let remaining = query.limit
    while (remaining > 0 && !res.destroyed) {
      const want = Math.min(CSV_ROWS_PER_READ, remaining)
      const listed = read(from, want)
      let count = 0
      let last: Row | undefined
      // Rows go out as they are read; the statement ends before any wait for the client.
      for (const row of listed.rows) {
        text += csvRow(columns, row)
        count++
        last = row
        if (text.length >= CSV_FLUSH_CHARS) {
          res.write(text)
          text = ''
        }
      }
      remaining -= count
      if (count < want) break
      from = listed.positionOf(last!)
      if (text) res.write(text)
      text = ''
      if (res.writableNeedDrain) await drained(res)
    }
    res.end(text)
  }

  function startCsv(res: ServerResponse, kind: string): void {
    const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8; header=present',
      'content-disposition': `attachment; filename="labsync-${kind}-${stamp}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
  }

  async function labStatuses(): Promise<LabStatus[]> {
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())
    return Promise.all(config.labs.map(async (lab): Promise<LabStatus> => {
      const activity = store.labActivity(lab.id)
      let queue: number | null = null
      if (deps.queueLength) {
        try {
          queue = await deps.queueLength(lab.id)
        } catch (error) {
          // One lab document that cannot load must not hide the others' status.
          console.error(`relay: admin: queue of lab ${lab.id} unavailable: ${(error as Error).message}`)
        }
      }
      return {
        id: lab.id, name: lab.name, queue,
        lastHistoryAt: iso(activity.lastHistoryAt), lastPrintedAt: iso(activity.lastPrintedAt), lastSeen: iso(deps.lastSeen?.(lab.id)),
      }
    }))
  }

  function daily(url: URL): DailyReport {
    const params = known(url, ['lab', 'user', 'front', 'since', 'until'])
    const at = (name: string) => parseInstant(params.get(name)!, timeZone, name)
    const todayStart = parseInstant(dayOf(now(), timeZone), timeZone, 'today')
    // Noon of the first day, so that a DST change in between cannot move it to a neighbouring day.
    const firstDay = dayOf(todayStart + 12 * 3600_000 - (DAILY_DEFAULT_DAYS - 1) * 86_400_000, timeZone)
    const until = params.get('until') ? at('until') : addDuration(new Date(todayStart), 'P1D', timeZone).getTime()
    const since = params.get('since') ? at('since') : parseInstant(firstDay, timeZone, 'since')
    if (until <= since) throw new HttpError(400, 'until must be later than since')
    const filter: AuditFilter = Object.fromEntries(['lab', 'user', 'front'].flatMap((name) => (params.get(name) ? [[name, params.get(name)!]] : [])))
    const days = daysBetween(since, until, timeZone, DAILY_MAX_DAYS)
    const totals = store.daily(filter, days, filter.lab ? [filter.lab] : config.labs.map((lab) => lab.id))
    const byDay = new Map(days.map(({ day }) => [day, { day, orders: 0, discounted: 0, discountAmount: 0, prints: {} as Record<string, number> }]))
    for (const o of totals.orders) Object.assign(byDay.get(o.day)!, { orders: o.orders, discounted: o.discounted, discountAmount: o.discount_amount })
    for (const p of totals.prints) byDay.get(p.day)!.prints[p.lab] = p.prints
    return { timeZone, currency: config.currency, days: [...byDay.values()] }
  }

  async function reassignOrder(req: IncomingMessage, res: ServerResponse, admin: string, order: string): Promise<void> {
    if (!deps.reassign) throw new HttpError(501, 'reassignment is not available')
    // Order ids are URL-safe as they are (ID_PATTERN): anything else names no order.
    if (!ID_PATTERN.test(order)) throw new HttpError(404, 'no such order')
    const lab = requireString(await readJson(req), 'lab', 64)
    if (!config.labs.some((l) => l.id === lab)) throw new HttpError(400, `lab: "${lab}" is not a lab of this relay`)
    const reception = store.reception(order)
    if (!reception) throw new HttpError(404, `no order ${order} has been received`)
    if (reception.status !== 'accepted') throw new HttpError(409, `order ${order} is ${reception.status}; only accepted orders move`)
    if (reception.lab === lab) throw new HttpError(409, `order ${order} is already assigned to ${lab}`)
    const detail = { order, from: reception.lab, to: lab }
    const id = store.logChange(now(), admin, 'order.reassign', { ...detail, outcome: 'pending' })
    try {
      await deps.reassign(order, lab)
    } catch (error) {
      store.settle(id, { ...detail, outcome: 'failed', error: (error as Error).message })
      throw error
    }
    store.settle(id, { ...detail, outcome: 'done' })
    sendJson(res, 200, { order, lab, previousLab: reception.lab, audit: id })
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

/** The `queueLength` dependency from the relay's rooms: the size of `lab/<id>`'s queue map. */
export function queueLengthFromRooms(rooms: Rooms): (lab: string) => Promise<number> {
  return async (lab) => {
    const room = await rooms.get({ kind: 'lab', name: roomName.lab(lab), labId: lab })
    try {
      return room.doc.getMap('queue').size
    } finally {
      rooms.released(room)
    }
  }
}

function allow(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST'): void {
  if (req.method === method) return
  res.setHeader('allow', method)
  throw new HttpError(405, `${req.method} is not allowed here; use ${method}`)
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
