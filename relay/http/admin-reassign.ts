// POST /api/admin/orders/<id>/reassign {lab}: moves an accepted order to another lab. The change
// is logged in admin_audit as pending before it is attempted, then settled as done or failed.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from '../../shared/errors.ts'
import { ID_PATTERN } from '../../shared/schema.ts'
import type { AuditStore } from '../../storage/audit-store.ts'
import { readJson, requireString, sendJson } from '../../sync-server/respond.ts'
import type { AdminDeps } from './admin.ts'

export async function reassignOrder(req: IncomingMessage, res: ServerResponse, admin: string, order: string, deps: AdminDeps, store: AuditStore): Promise<void> {
  if (!deps.reassign) throw new HttpError(501, 'reassignment is not available')
  // Order ids are URL-safe as they are (ID_PATTERN): anything else names no order.
  if (!ID_PATTERN.test(order)) throw new HttpError(404, 'no such order')
  const lab = requireString(await readJson(req), 'lab', 64)
  if (!deps.config.labs.some((l) => l.id === lab)) throw new HttpError(400, `lab: "${lab}" is not a lab of this relay`)
  const reception = await store.reception(order)
  if (!reception) throw new HttpError(404, `no order ${order} has been received`)
  if (reception.status !== 'accepted') throw new HttpError(409, `order ${order} is ${reception.status}; only accepted orders move`)
  if (reception.lab === lab) throw new HttpError(409, `order ${order} is already assigned to ${lab}`)
  const detail = { order, from: reception.lab, to: lab }
  const id = await store.logChange(deps.now(), admin, 'order.reassign', { ...detail, outcome: 'pending' })
  try {
    await deps.reassign(order, lab)
  } catch (error) {
    await store.settle(id, { ...detail, outcome: 'failed', error: (error as Error).message })
    throw error
  }
  await store.settle(id, { ...detail, outcome: 'done' })
  sendJson(res, 200, { order, lab, previousLab: reception.lab, audit: id })
}
