// Sends an admin listing: one keyset page as JSON, or every row (up to `limit`) streamed as CSV,
// read in short statements so the database is never held while the client is slow to take them;
// the receipts' totals come with the first page only.
import type { ServerResponse } from 'node:http'
import type { Page, ReceiptTotals } from '../../shared/audit.ts'
import type { Listed, Position } from '../../storage/audit-store.ts'
import { sendJson } from '../../sync-server/respond.ts'
import { csvHeader, csvRow, type Columns } from './csv.ts'
import { encodeCursor, type ListingQuery } from './admin-query.ts'

/** Rows read per statement while streaming CSV: the connection is never held across a wait. */
const CSV_ROWS_PER_READ = 1000
const CSV_FLUSH_CHARS = 64 * 1024

export type ReadRows<Row> = (from: Position | null, limit: number) => Promise<Listed<Row>>

/**
 * `kind` names the CSV file; `cursorKind` (default `kind`) binds the cursor to its listing; `totals`,
 * when given, are added to the first JSON page (sums over the whole filter): a later page of the
 * same filter would only sum the same rows again, and a client paging on already has them.
 */
export async function sendListing<Row>(
  res: ServerResponse, kind: string, query: ListingQuery, read: ReadRows<Row>, columns: Columns<Row>, now: () => number,
  cursorKind = kind, totals?: () => Promise<ReceiptTotals>,
): Promise<void> {
  if (query.format === 'json') return sendPage(res, cursorKind, query, read, totals)
  startCsv(res, kind, now)
  return streamCsv(res, query, read, columns)
}

async function sendPage<Row>(res: ServerResponse, kind: string, query: ListingQuery, read: ReadRows<Row>, totals?: () => Promise<ReceiptTotals>): Promise<void> {
  const listed = await read(query.after, query.limit + 1)
  const rows = [...listed.rows]
  const more = rows.length > query.limit
  if (more) rows.length = query.limit
  const page: Page<Row> = { rows, next: more ? encodeCursor(kind, listed.positionOf(rows[rows.length - 1])) : null }
  if (totals && query.after === null) page.totals = await totals()
  sendJson(res, 200, page)
}

async function streamCsv<Row>(res: ServerResponse, query: ListingQuery, read: ReadRows<Row>, columns: Columns<Row>): Promise<void> {
  let text = csvHeader(columns)
  let from = query.after
  let remaining = query.limit
  while (remaining > 0 && !res.destroyed) {
    const want = Math.min(CSV_ROWS_PER_READ, remaining)
    const listed = await read(from, want)
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

/** The headers of a CSV download, named `labsync-<kind>-<UTC time>.csv`. */
export function startCsv(res: ServerResponse, kind: string, now: () => number): void {
  const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8; header=present',
    'content-disposition': `attachment; filename="labsync-${kind}-${stamp}.csv"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
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
