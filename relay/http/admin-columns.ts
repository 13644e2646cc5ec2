// The CSV columns of each admin listing, in the order they are written (relay/http/csv.ts).
import { discountBy, itemNumber, printerMedia, printerStates, type AuditEntry, type HistoryRow, type LabStatus, type ReceiptRow } from '../../shared/audit.ts'
import type { Columns } from './csv.ts'

const sumLines = (row: ReceiptRow, kind: string) => row.lines.reduce((sum, line) => sum + (line.kind === kind ? line.amount : 0), 0)

export const RECEIPT_COLUMNS: Columns<ReceiptRow> = [
  ['receivedAt', (r) => r.receivedAt], ['seq', (r) => r.seq], ['order', (r) => r.order], ['number', (r) => r.number], ['user', (r) => r.user],
  ['front', (r) => r.front], ['lab', (r) => r.lab], ['status', (r) => r.status], ['error', (r) => r.error],
  ['currency', (r) => r.currency], ['prints', (r) => sumLines(r, 'print')], ['fee', (r) => sumLines(r, 'fee')],
  ['discountApplied', (r) => r.discountApplied], ['total', (r) => r.total],
  ['discountWithin', (r) => r.discount?.within], ['discountTierAmount', (r) => r.discount?.amount],
  ['discountPreviousOrder', (r) => r.discount?.previousOrder], ['discountPreviousReceivedAt', (r) => r.discount?.previousReceivedAt],
  ['inStoreLab', (r) => r.inStore?.lab], ['inStoreStampedAt', (r) => r.inStore?.stampedAt], ['inStoreStampUsed', (r) => r.inStore ? String(r.inStore.used) : null],
  // Added by issue 16, after the earlier columns so a sheet reading them by position still works.
  // Discounts as the receipt shows them: a deduction is negative (-200), the lab's and the store's apart.
  ['name', (r) => r.name], ['email', (r) => r.email], ['pickupFront', (r) => r.pickupFront ?? (r.status === 'waiting' ? null : r.front)],
  ['labDiscount', (r) => discountBy(r.lines, 'lab')], ['frontDiscount', (r) => discountBy(r.lines, 'front')],
  ['frontDiscountWithin', (r) => r.frontDiscount?.within], ['frontDiscountPreviousOrder', (r) => r.frontDiscount?.previousOrder],
  ['missing', (r) => r.missing?.join(' ')],
]
export const HISTORY_COLUMNS: Columns<HistoryRow> = [
  // `item` counted from 1, as the page and the CLI count prints (the JSON's `item` counts from 0).
  ['printedAt', (h) => h.printedAt], ['id', (h) => h.id], ['lab', (h) => h.lab], ['order', (h) => h.order], ['item', (h) => itemNumber(h.item)],
  ['copies', (h) => h.copies], ['status', (h) => h.status], ['printer', (h) => h.printer], ['job', (h) => h.job],
  ['user', (h) => h.user], ['front', (h) => h.front], ['receivedAt', (h) => h.receivedAt], ['size', (h) => h.size],
  // Added with reprints (issue 15), after the earlier columns: `true` for a print the operator asked
  // for again, and why; both empty for the orders' own prints.
  ['reprint', (h) => (h.reprint ? true : null)], ['reason', (h) => h.reason],
]
export const LAB_COLUMNS: Columns<LabStatus> = [
  ['id', (l) => l.id], ['name', (l) => l.name], ['queue', (l) => l.queue], ['lastHistoryAt', (l) => l.lastHistoryAt],
  ['lastPrintedAt', (l) => l.lastPrintedAt], ['lastSeen', (l) => l.lastSeen],
  ['online', (l) => l.online], ['printers', (l) => printerStates(l.printers)],
  // Added with printers' media (issue 15), after the earlier columns: `URI: name name; …`.
  ['media', (l) => printerMedia(l.printers)],
]
export const AUDIT_COLUMNS: Columns<AuditEntry> = [
  ['at', (a) => a.at], ['id', (a) => a.id], ['admin', (a) => a.admin], ['action', (a) => a.action], ['detail', (a) => JSON.stringify(a.detail)],
]
