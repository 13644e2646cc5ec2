// CSV as RFC 4180 writes it (CRLF line ends, a field with a comma, quote or line break quoted,
// quotes doubled), with text that a spreadsheet would run as a formula defused by a leading `'`
// (OWASP "CSV injection": cells starting with = + - @, tab or CR).
export type Cell = string | number | boolean | null | undefined

const FORMULA_START = /^[=+\-@\t\r\n]/
const NEEDS_QUOTES = /[",\r\n]/

/**
 * One field. Only text is defused: numbers are ours (a discount of -200 stays a number), text may
 * come from a lab, a store id or a customer and is never trusted.
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'string') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export const csvRecord = (fields: readonly Cell[]): string => fields.map(csvField).join(',') + '\r\n'

/** Named columns over a row type: the header and each record come from the same list. */
export type Columns<Row> = ReadonlyArray<readonly [header: string, value: (row: Row) => Cell]>

export const csvHeader = <Row>(columns: Columns<Row>): string => csvRecord(columns.map(([header]) => header))

export const csvRow = <Row>(columns: Columns<Row>, row: Row): string => csvRecord(columns.map(([, value]) => value(row)))
