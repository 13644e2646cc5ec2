// `labsync admin receipts|history|labs|audit …`: what an admin audits, read from a running relay's
// admin API, printed as an aligned table (all pages), CSV (streamed as the relay sends it) or JSON.
// Exit codes: 0 done, 2 bad arguments (ConfigError, mapped by bin/cli.ts), 3 token refused,
// 4 relay unreachable, 1 anything else the relay answered.
import { ConfigError } from '../shared/errors.ts'
import { formatMoney } from '../shared/pricing.ts'
import type { AuditEntry, HistoryRow, LabStatus, Listing, Page, ReceiptRow } from '../shared/audit.ts'
import { itemNumber, LISTINGS, PAGE_MAX, printerStates } from '../shared/audit.ts'
import { escapeControls } from '../relay/http/csv.ts'
import { columns, optionList, parseOptions, synopsis, UsageError, type Option } from '../bin/options.ts'

export const EXIT = { ok: 0, failed: 1, refused: 3, unreachable: 4 } as const

export interface AdminIO {
  /** Writes output; resolves when the destination can take more. */
  out(text: string | Uint8Array): Promise<void> | void
  /** One line of error, without the trailing newline. */
  err(line: string): void
}

const EVERY: readonly Listing[] = LISTINGS
const ROWS: readonly Listing[] = ['receipts', 'history', 'audit']
const ORDERS: readonly Listing[] = ['receipts', 'history']

/** The options, each with the listings that take it: the parsing, the checks and --help come from here. */
export const OPTIONS = [
  { name: 'relay', value: 'URL', help: "the relay's http:// or https:// URL", required: true, listings: EVERY },
  { name: 'token', value: 'T', help: "an admin token from the relay's configuration; also from LABSYNC_ADMIN_TOKEN", required: true, listings: EVERY },
  { name: 'format', value: 'table|csv|json', help: 'an aligned table (every page), CSV as the relay streams it, or JSON', default: 'table', listings: EVERY },
  { name: 'limit', value: 'N', help: 'at most N rows; without it, every row', listings: ROWS },
  { name: 'lab', value: 'ID', help: "only this lab's", listings: ORDERS },
  { name: 'user', value: 'ID', help: "only this customer's", listings: ORDERS },
  { name: 'front', value: 'ID', help: "only this store's", listings: ORDERS },
  { name: 'number', value: 'N', help: 'only the order(s) with this order number (any case; one per store that gave it, --front to pick)', listings: ORDERS },
  { name: 'email', value: 'E', help: "only the orders of the customer with this e-mail", listings: ORDERS },
  { name: 'status', value: 'S', help: 'only in this status (receipts: accepted, rejected, cancelled, or waiting for photos; history: as the printer reported it)', listings: ORDERS },
  { name: 'reprint', value: 'true|false', help: "only the reprints the labs' operators asked for (true), or only the orders' own prints (false)", listings: ['history'] },
  { name: 'since', value: 'ISO', help: 'from this date or date-time on (2024-05-01, 2024-05-01T09:00:00Z; without an offset, in the relay\'s time zone)', listings: ROWS },
  { name: 'until', value: 'ISO', help: 'up to this date or date-time, not included', listings: ROWS },
  { name: 'admin', value: 'NAME', help: "only this admin's changes", listings: ['audit'] },
  { name: 'action', value: 'A', help: 'only changes of this kind', listings: ['audit'] },
] as const satisfies readonly (Option & { listings: readonly Listing[] })[]

const WHAT: Record<Listing, string> = {
  receipts: 'receptions with their receipts and discount decisions',
  history: 'the printing history the labs reported',
  labs: 'each lab: its queue, last history and last print, when it was last seen, its printers and the media each holds',
  audit: 'what admins changed, who and when',
}

/** `labsync admin --help`, or one listing's help with only the options it takes. */
function help(listing: Listing | null): string {
  const options = listing === null
    ? OPTIONS.map((o) => (o.listings === EVERY ? o : { ...o, help: `${o.listings.join(', ')}: ${o.help}` }))
    : OPTIONS.filter((o) => (o.listings as readonly Listing[]).includes(listing))
  const what = listing ? `${WHAT[listing]}.` : `what to list:\n${columns(LISTINGS.map((l) => [l, WHAT[l]] as const))}`
  return `${synopsis(listing ? `admin ${listing}` : 'admin', options, listing ? '' : LISTINGS.join('|'))}

${what}

options:
${optionList(options)}

Exit codes: 0 done, 1 the relay failed, 2 bad arguments, 3 token refused, 4 relay unreachable.`
}

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
    if ('help' in command) await io.out(`${command.help}\n`)
    else if (command.format === 'csv') await printCsv(command, io)
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

const isListing = (name: string | undefined): name is Listing => (LISTINGS as readonly (string | undefined)[]).includes(name)

function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command | { help: string } {
  const { values, positionals, help: wanted } = parseOptions('admin', argv, OPTIONS)
  const [listing, ...extra] = positionals
  if (wanted) return { help: help(isListing(listing) ? listing : null) }
  if (!listing) throw new UsageError('admin', `what to list is missing (${LISTINGS.join(', ')})`)
  if (!isListing(listing)) throw new UsageError('admin', `unknown listing "${listing}" (${LISTINGS.join(', ')})`)
  if (extra.length) throw new UsageError('admin', `unexpected argument "${extra[0]}"`)
  const relay = values.relay
  if (!relay) throw new UsageError('admin', '--relay URL is required')
  if (!/^https?:\/\/[^/\s]+/i.test(relay)) throw new ConfigError(`admin: --relay "${relay}" is not an http:// or https:// URL`)
  const token = values.token ?? env.LABSYNC_ADMIN_TOKEN
  if (!token) throw new UsageError('admin', '--token is required (or set LABSYNC_ADMIN_TOKEN)')
  const format = values.format ?? 'table'
  if (format !== 'table' && format !== 'csv' && format !== 'json') throw new ConfigError(`admin: --format "${format}" is not table, csv or json`)
  let limit = Infinity
  if (values.limit !== undefined) {
    limit = Number(values.limit)
    if (!/^\d+$/.test(values.limit) || !Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`admin: --limit "${values.limit}" is not a whole number of at least 1`)
  }
  const params = new URLSearchParams()
  for (const option of OPTIONS) {
    const value = values[option.name]
    if (value === undefined || option.listings === EVERY) continue
    if (!(option.listings as readonly Listing[]).includes(listing)) {
      throw new UsageError(`admin ${listing}`, option.name === 'limit' ? 'there is no --limit' : `there is no --${option.name} filter`)
    }
    if (option.name === 'limit') continue // asked for page by page, see rows()
    if ((option.name === 'since' || option.name === 'until') && !ISO_LIKE.test(value)) throw new ConfigError(`admin: --${option.name} "${value}" is not an ISO 8601 date or date-time (2024-05-01 or 2024-05-01T09:00:00Z)`)
    params.set(option.name, value)
  }
  return { listing, relay, token, params, format, limit }
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

/** The customer as people know them: name and e-mail, the account id when the account is gone. */
const customerOf = (r: ReceiptRow) => (r.name || r.email ? `${r.name ?? ''} <${r.email ?? ''}>`.trim() : r.user)

const TABLES: Record<Listing, Column[]> = {
  receipts: [
    column<ReceiptRow>('Received', (r) => time(r.receivedAt)), column<ReceiptRow>('Number', (r) => r.number), column<ReceiptRow>('Order', (r) => r.order),
    column<ReceiptRow>('User', (r) => r.user), column<ReceiptRow>('Customer', (r) => customerOf(r)), column<ReceiptRow>('Store', (r) => r.front),
    column<ReceiptRow>('Pickup', (r) => (r.pickupFront && r.pickupFront !== r.front ? r.pickupFront : '')), column<ReceiptRow>('Lab', (r) => r.lab),
    column<ReceiptRow>('Status', (r) => r.status), column<ReceiptRow>('Total', (r) => formatMoney(r.total, r.currency), true),
    // A deduction is negative, as on the receipt and the admin page: -¥200.
    column<ReceiptRow>('Discount', (r) => (r.discountApplied ? formatMoney(-r.discountApplied, r.currency) : ''), true),
    column<ReceiptRow>('Within', (r) => r.discount?.within), column<ReceiptRow>('Previous order', (r) => r.discount?.previousOrder),
    column<ReceiptRow>('Error', (r) => r.error),
  ],
  history: [
    column<HistoryRow>('Printed', (h) => time(h.printedAt)), column<HistoryRow>('Lab', (h) => h.lab), column<HistoryRow>('Order', (h) => h.order),
    column<HistoryRow>('Item', (h) => itemNumber(h.item), true), column<HistoryRow>('Size', (h) => h.size), column<HistoryRow>('Copies', (h) => h.copies, true), column<HistoryRow>('Status', (h) => h.status),
    column<HistoryRow>('Printer', (h) => h.printer), column<HistoryRow>('Job', (h) => h.job), column<HistoryRow>('User', (h) => h.user),
    column<HistoryRow>('Store', (h) => h.front),
    // A print the operator asked for again is never charged again: said so, with their reason.
    column<HistoryRow>('Reprint', (h) => (h.reprint ? `reprint${h.reason ? `: ${h.reason}` : ''}` : '')),
  ],
  labs: [
    column<LabStatus>('Lab', (l) => l.id), column<LabStatus>('Name', (l) => l.name), column<LabStatus>('Queue', (l) => l.queue ?? '?', true),
    column<LabStatus>('Last history', (l) => time(l.lastHistoryAt)), column<LabStatus>('Last printed', (l) => time(l.lastPrintedAt)),
    column<LabStatus>('Last seen', (l) => time(l.lastSeen)), column<LabStatus>('Online', (l) => (l.online ? 'online' : 'offline')),
    column<LabStatus>('Printers', (l) => printersWithMedia(l.printers)),
  ],
  audit: [
    column<AuditEntry>('At', (a) => time(a.at)), column<AuditEntry>('Admin', (a) => a.admin), column<AuditEntry>('Action', (a) => a.action),
    column<AuditEntry>('Detail', (a) => JSON.stringify(a.detail)),
  ],
}

/** Each printer's state, then the media it holds in brackets: `URI idle [na_index-4x6_4x6in oe_photo-l_3.5x5in]; …`. */
function printersWithMedia(printers: LabStatus['printers']): string {
  // `media` may be missing from a relay older than the field.
  return printers.map((p) => `${printerStates([p])}${p.media?.length ? ` [${p.media.join(' ')}]` : ''}`).join('; ')
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
