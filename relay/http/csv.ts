// CSV as RFC 4180 writes it (CRLF line ends, quotes doubled), made safe for spreadsheets and
// terminals (OWASP "CSV injection"):
// - text a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a leading
//   `'` and quotes; so does text with one of those right after a `,` `;` or tab inside it, since
//   a spreadsheet set to another separator (`;` in much of Europe) starts a new cell there, where
//   the quotes no longer hold: there a `'` goes before the formula character as well;
// - a field with `,` `;` `"` is quoted (and any defused one);
// - control characters (all of C0, DEL, C1: the ESC of ANSI sequences, line breaks, tabs) are
//   written as `\n`, `\r`, `\t` or `\xNN`: never raw into a file someone will `cat`, and no
//   record spans lines.
export type Cell = string | number | boolean | null | undefined

const FORMULA_START = /^[=+\-@\t\r\n]/
/** A formula character right after a separator (`,` `;` tab), spaces or quotes between allowed. */
const FORMULA_AFTER_SEPARATOR = /([,;\t][ "]*)([=+\-@])/g
const NEEDS_QUOTES = /[",;]/
/** A plain number written as text ("-200", "3.5"): a spreadsheet reads it as that number, not a formula. */
const NUMBER = /^-?\d+(\.\d+)?$/
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

/** Control characters shown, not obeyed: `\n`, `\r`, `\t`, otherwise `\xNN`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** Text a spreadsheet would read as a formula, at the start of the cell or of a cell it may split off. */
export function defuseFormulas(text: string): { text: string; defused: boolean } {
  if (NUMBER.test(text)) return { text, defused: false }
  const inner = text.replace(FORMULA_AFTER_SEPARATOR, "$1'$2")
  if (inner === text && !FORMULA_START.test(text)) return { text, defused: false }
  return { text: `'${inner}`, defused: true }
}

/**
 * One field. Only text is defused: numbers are ours (a discount of -200 stays a number), text may
 * come from a lab, a store id or a customer and is never trusted.
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'string') return String(value)
  const { text, defused } = defuseFormulas(value) // on the text as given: a tab is a separator to a spreadsheet
  const shown = escapeControls(text)
  return defused || NEEDS_QUOTES.test(shown) ? `"${shown.replaceAll('"', '""')}"` : shown
}

export const csvRecord = (fields: readonly Cell[]): string => fields.map(csvField).join(',') + '\r\n'

/** Named columns over a row type: the header and each record come from the same list. */
export type Columns<Row> = ReadonlyArray<readonly [header: string, value: (row: Row) => Cell]>

export const csvHeader = <Row>(columns: Columns<Row>): string => csvRecord(columns.map(([header]) => header))

export const csvRow = <Row>(columns: Columns<Row>, row: Row): string => csvRecord(columns.map(([, value]) => value(row)))
