// The admin's overviews: each lab's status (queue, last history, last connection, printers and their
// media) and daily totals (orders, discounts, prints and reprints per lab) for charts, days counted
// in the relay's time zone.
import { HttpError } from '../../shared/errors.ts'
import { addDuration } from '../../shared/period.ts'
import type { DailyReport, DayTotals, LabStatus } from '../../shared/audit.ts'
import type { AuditFilter, AuditStore } from '../../storage/audit-store.ts'
import type { AdminDeps } from './admin.ts'
import { dayOf, daysBetween, known, parseInstant } from './admin-query.ts'

const DAILY_DEFAULT_DAYS = 30
const DAILY_MAX_DAYS = 400

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())

export function labStatuses(deps: AdminDeps, store: AuditStore): Promise<LabStatus[]> {
  return Promise.all(deps.config.labs.map(async (lab): Promise<LabStatus> => {
    const activity = await store.labActivity(lab.id)
    let queue: number | null = null
    if (deps.queueLength) {
      try {
        queue = await deps.queueLength(lab.id)
      } catch (error) {
        // One lab document that cannot load must not hide the others' status.
        console.error(`relay: admin: queue of lab ${lab.id} unavailable: ${(error as Error).message}`)
      }
    }
    const presence = (await deps.presence?.(lab.id)) ?? null
    return {
      id: lab.id, name: lab.name, queue,
      lastHistoryAt: iso(activity.lastHistoryAt), lastPrintedAt: iso(activity.lastPrintedAt),
      lastSeen: iso(presence?.lastSeen ?? deps.lastSeen?.(lab.id)), online: presence?.online ?? false,
      // A lab node older than the media field said none: an empty list, so every row has the same shape.
      printers: (presence?.printers ?? []).map((p) => ({ uri: p.uri, state: p.state, reasons: p.reasons, media: p.media ?? [] })),
    }
  }))
}

/** GET /api/admin/daily: the last 30 days unless since/until say otherwise, at most 400. */
export async function dailyReport(url: URL, deps: AdminDeps, store: AuditStore): Promise<DailyReport> {
  const { config, now } = deps
  const timeZone = config.timeZone
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
  const labs = filter.lab ? [filter.lab] : config.labs.map((lab) => lab.id)
  const totals = await store.daily(filter, days, labs)
  const byDay = new Map(days.map(({ day }): [string, DayTotals] => [day, { day, orders: 0, discounted: 0, discountAmount: 0, prints: {} }]))
  for (const o of totals.orders) Object.assign(byDay.get(o.day)!, { orders: o.orders, discounted: o.discounted, discountAmount: o.discount_amount })
  for (const p of totals.prints) byDay.get(p.day)!.prints[p.lab] = p.prints
  // Reprints are in `prints` (paper printed) and told apart here; no receipt figure ever counts them.
  for (const r of totals.reprints) (byDay.get(r.day)!.reprints ??= {})[r.lab] = r.reprints
  return { timeZone, currency: config.currency, days: [...byDay.values()] }
}
