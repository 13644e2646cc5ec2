// `labsync admin receipts|history|labs|audit …`: what an admin audits, read from a running relay's
// admin API, printed as an aligned table (all pages), CSV (streamed as the relay sends it) or JSON.
// Exit codes: 0 done, 2 bad arguments (ConfigError, mapped by bin/cli.ts), 3 token refused,
// 4 relay unreachable, 1 anything else the relay answered.
import { parseArgs } from 'node:util'
import { ConfigError } from '../shared/errors.ts'
import { formatMoney } from '../shared/pricing.ts'
import type { AuditEntry, HistoryRow, LabStatus, Listing, Page, ReceiptRow } from '../shared/audit.ts'
import { LISTINGS, PAGE_MAX } from '../shared/audit.ts'
import { escapeControls } from '../relay/http/csv.ts'

export const EXIT = { ok: 0, failed: 1, refused: 3, unreachable: 4 } as const

export interface AdminIO {
  /** Writes output; resolves when the destination can take more. */
  out(text: string | Uint8Array): Promise<void> | void
  /** One line of error, without the trailing newline. */
  err(line: string): void
}

export const USAGE = `labsync admin receipts|history|labs|audit --relay URL --token T [--lab ID] [--user ID] [--front ID]
              [--status S] [--since ISO] [--until ISO] [--format table|csv|json] [--limit N]
              (the token may also come from LABSYNC_ADMIN_TOKEN)`

const FILTERS = ['lab', 'user', 'front', 'status', 'since', 'until'] as const
const AUDIT_FILTERS = ['admin', 'action', 'since', 'until'] as const
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

interface Command {
  listing: Listing
  relay: string
  token: string
  params: URLSearchParams
  format: 'table' | 'csv' | 'json'
  /** Rows wanted in all; Infinity for every row. */
  limit: number
}

/** Runs `labsync admin …` (argv without `admin`); returns the exit code. Bad arguments throw ConfigError. */
export async function runAdmin(argv: string[], io: AdminIO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const command = parseCommand(argv, env)
  try {
    if (command.format === 'csv') await printCsv(command, io)
    else if (command.format === 'json') await printJson(command, io)
    else await printTable(command, io)
    return EXIT.ok
  } catch (error) {
    if (error instanceof ExitError) {
      io.err(`labsync admin: ${error.message}`)
      return error.code
    }
    if (error instanceof OutputClosed) return EXIT.ok
    throw error
  }
}

function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command {
  let parsed
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        relay: { type: 'string' }, token: { type: 'string' }, format: { type: 'string' }, limit: { type: 'string' },
        lab: { type: 'string' }, user: { type: 'string' }, front: { type: 'string' }, status: { type: 'string' },
        since: { type: 'string' }, until: { type: 'string' }, admin: { type: 'string' }, action: { type: 'string' },
      },
    })
  } catch (error) {
    throw new ConfigError(`admin: ${(error as Error).message.split('\n')[0]}`)
  }
  const { values, positionals } = parsed
  const [listing, ...extra] = positionals
  if (!listing) throw new ConfigError(`admin: what to list is missing (${LISTINGS.join(', ')})`)
  if (!(LISTINGS as readonly string[]).includes(listing)) throw new ConfigError(`admin: unknown listing "${listing}" (${LISTINGS.join(', ')})`)
  if (extra.length) throw new ConfigError(`admin: unexpected argument "${extra[0]}"`)
  const relay = values.relay
  if (!relay) throw new ConfigError('admin: --relay URL is required')
  if (!/^https?:\/\/[^/\s]+/i.test(relay)) throw new ConfigError(`admin: --relay "${relay}" is not an http:// or https:// URL`)
  const token = values.token ?? env.LABSYNC_ADMIN_TOKEN
  if (!token) throw new ConfigError('admin: --token is required (or set LABSYNC_ADMIN_TOKEN)')
  const format = values.format ?? 'table'
  if (format !== 'table' && format !== 'csv' && format !== 'json') throw new ConfigError(`admin: --format "${format}" is not table, csv or json`)
  let limit = Infinity
  if (values.limit !== undefined) {
    limit = Number(values.limit)
    if (!/^\d+$/.test(values.limit) || !Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`admin: --limit "${values.limit}" is not a whole number of at least 1`)
  }
  const allowed: readonly string[] = listing === 'labs' ? [] : listing === 'audit' ? AUDIT_FILTERS : FILTERS
  const params = new URLSearchParams()
  for (const name of [...FILTERS, ...AUDIT_FILTERS]) {
    const value = values[name]
    if (value === undefined) continue
    if (!allowed.includes(name)) throw new ConfigError(`admin: ${listing} has no --${name} filter`)
    if ((name === 'since' || name === 'until') && !ISO_LIKE.test(value)) throw new ConfigError(`admin: --${name} "${value}" is not an ISO 8601 date or date-time (2024-05-01 or 2024-05-01T09:00:00Z)`)
    params.set(name, value)
  }
  if (listing === 'labs' && values.limit !== undefined) throw new ConfigError('admin: labs has no --limit')
  return { listing: listing as Listing, relay, token, params, format, limit }
}

// ---------------------------------------------------------------- talking to the relay

class ExitError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

async function request(command: Command, params: URLSearchParams): Promise<Response> {
  const base = command.relay.endsWith('/') ? command.relay : `${command.relay}/`
  const url = new URL(`api/admin/${command.listing}`, base)
  url.search = params.toString()
  let res: Response
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${command.token}`, accept: 'application/json, text/csv' } })
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    throw new ExitError(EXIT.unreachable, `cannot reach the relay at ${command.relay} (${cause?.code ?? cause?.message ?? (error as Error).message})`)
  }
  if (res.ok) return res
  const message = await res.json().then((body) => String((body as { error?: unknown }).error ?? res.statusText), () => res.statusText)
  if (res.status === 401 || res.status === 403) throw new ExitError(EXIT.refused, `the relay refused the token (${res.status}: ${message})`)
  if (res.status === 400) throw new ConfigError(`admin: the relay refused the request: ${message}`)
  throw new ExitError(EXIT.failed, `the relay answered ${res.status}: ${message}`)
}

/** Every row wanted, page after page; labs come in one answer. */
async function* rows(command: Command): AsyncGenerator<unknown> {
  let after: string | null = null
  let remaining = command.limit
  do {
    const params = new URLSearchParams(command.params)
    if (command.listing !== 'labs') params.set('limit', String(Math.min(PAGE_MAX, remaining)))
    if (after) params.set('after', after)
    const page = (await (await request(command, params)).json()) as Page<unknown>
    for (const row of page.rows.slice(0, remaining)) yield row
    remaining -= page.rows.length
    after = page.next
  } while (after && remaining > 0)
}

async function printCsv(command: Command, io: AdminIO): Promise<void> {
  const params = new URLSearchParams(command.params)
  params.set('format', 'csv')
  if (Number.isFinite(command.limit)) params.set('limit', String(command.limit))
  const res = await request(command, params)
  // The relay escapes control characters itself; whatever answers at --relay, none reach the terminal.
  const decoder = new TextDecoder()
  const safe = terminalSafe()
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const text = safe(decoder.decode(chunk, { stream: true }))
    if (text) await io.out(text)
  }
  const rest = safe(decoder.decode(), true)
  if (rest) await io.out(rest)
}

/**
 * Streamed text with every control character escaped but the line ends (CRLF, LF): a CR alone
 * would let a cell overwrite what the terminal shows. A CR at the end of a chunk waits for the next.
 */
function terminalSafe(): (text: string, last?: boolean) => string {
  let held = ''
  return (text, last = false) => {
    text = held + text
    held = !last && text.endsWith('\r') ? '\r' : ''
    if (held) text = text.slice(0, -1)
    return text.replace(/\r\n|[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => (c === '\r\n' ? c : escapeControls(c)))
  }
}

async function printJson(command: Command, io: AdminIO): Promise<void> {
  let first = true
  await io.out('[')
  for await (const row of rows(command)) {
    await io.out(`${first ? '\n' : ',\n'}  ${jsonForTerminal(row)}`)
    first = false
  }
  await io.out(first ? ']\n' : '\n]\n')
}

/** JSON.stringify escapes C0 but not DEL or C1 (U+009B is a terminal's CSI): those as \u00XX too. */
const jsonForTerminal = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)

// ---------------------------------------------------------------- tables

type Column = { header: string; cell: (row: never) => string; right?: boolean }
const column = <Row>(header: string, cell: (row: Row) => string | number | null | undefined, right = false): Column =>
  ({ header, cell: (row: never) => String(cell(row) ?? ''), right })

const time = (iso: string | null) => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '')

const TABLES: Record<Listing, Column[]> = {
  receipts: [
    column<ReceiptRow>('Received', (r) => time(r.receivedAt)), column<ReceiptRow>('Order', (r) => r.order),
    column<ReceiptRow>('User', (r) => r.user), column<ReceiptRow>('Store', (r) => r.front), column<ReceiptRow>('Lab', (r) => r.lab),
    column<ReceiptRow>('Status', (r) => r.status), column<ReceiptRow>('Total', (r) => formatMoney(r.total, r.currency), true),
    column<ReceiptRow>('Discount', (r) => (r.discount ? formatMoney(r.discountApplied, r.currency) : ''), true),
    column<ReceiptRow>('Within', (r) => r.discount?.within), column<ReceiptRow>('Previous order', (r) => r.discount?.previousOrder),
    column<ReceiptRow>('Error', (r) => r.error),
  ],
  history: [
    column<HistoryRow>('Printed', (h) => time(h.printedAt)), column<HistoryRow>('Lab', (h) => h.lab), column<HistoryRow>('Order', (h) => h.order),
    column<HistoryRow>('Item', (h) => h.item, true), column<HistoryRow>('Copies', (h) => h.copies, true), column<HistoryRow>('Status', (h) => h.status),
    column<HistoryRow>('Printer', (h) => h.printer), column<HistoryRow>('Job', (h) => h.job), column<HistoryRow>('User', (h) => h.user),
    column<HistoryRow>('Store', (h) => h.front),
  ],
  labs: [
    column<LabStatus>('Lab', (l) => l.id), column<LabStatus>('Name', (l) => l.name), column<LabStatus>('Queue', (l) => l.queue ?? '?', true),
    column<LabStatus>('Last history', (l) => time(l.lastHistoryAt)), column<LabStatus>('Last printed', (l) => time(l.lastPrintedAt)),
    column<LabStatus>('Last seen', (l) => time(l.lastSeen)),
  ],
  audit: [
    column<AuditEntry>('At', (a) => time(a.at)), column<AuditEntry>('Admin', (a) => a.admin), column<AuditEntry>('Action', (a) => a.action),
    column<AuditEntry>('Detail', (a) => JSON.stringify(a.detail)),
  ],
}

/**
 * Control characters in a name (a lab's printer string, a store id) would break the columns or
 * drive the terminal: shown escaped instead.
 */
const printable = escapeControls

/** Aligned columns need every width first, so the table is built from all rows, then printed. */
async function printTable(command: Command, io: AdminIO): Promise<void> {
  const columns = TABLES[command.listing]
  const cells: string[][] = []
  for await (const row of rows(command)) cells.push(columns.map((c) => printable(c.cell(row as never))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)))
  const line = (values: string[]) => values.map((v, i) => (columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd() + '\n'
  let text = line(columns.map((c) => c.header)) + line(widths.map((w) => '-'.repeat(w)))
  for (const row of cells) {
    text += line(row)
    if (text.length > 64 * 1024) {
      await io.out(text)
      text = ''
    }
  }
  await io.out(text)
}

/** Whoever reads the output went away (`… | head`): not a failure, just the end. */
class OutputClosed extends Error {}

let stdoutClosed: boolean | null = null
const processIO: AdminIO = {
  out: (text) => new Promise<void>((resolve, reject) => {
    if (stdoutClosed === null) {
      stdoutClosed = false
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') stdoutClosed = true
      })
    }
    if (stdoutClosed) return reject(new OutputClosed())
    process.stdout.write(text, (error) => {
      if (!error) return resolve()
      reject((error as NodeJS.ErrnoException).code === 'EPIPE' ? new OutputClosed() : error)
    })
  }),
  err: (line) => void process.stderr.write(`${line}\n`),
}
