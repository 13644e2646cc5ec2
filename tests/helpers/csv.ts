// A strict RFC 4180 reader for tests: what a spreadsheet would make of the relay's CSV, and an
// error for anything the RFC does not allow (a bare line break, a stray quote, no final CRLF).

/** RFC 4180: fields separated by commas, records by CRLF; quoted fields may hold all three and "" for a quote. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  while (i < text.length) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue }
      if (c === '"') { quoted = false; i++; continue }
      field += c
      i++
      continue
    }
    if (c === '"') {
      if (field !== '') throw new Error(`a quote inside an unquoted field at ${i}`)
      quoted = true
      i++
    } else if (c === ',') {
      record.push(field)
      field = ''
      i++
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
      i += 2
    } else if (c === '\r' || c === '\n') {
      throw new Error(`a bare line break outside quotes at ${i}`)
    } else {
      field += c
      i++
    }
  }
  if (quoted) throw new Error('an unterminated quoted field')
  if (field !== '' || record.length) throw new Error('the last record does not end with CRLF')
  return records
}

/**
 * What a spreadsheet set to another separator makes of the text (Excel opening a `.csv` with `;`
 * as its list separator, or a paste as tab-separated): fields split at `separator`, records at
 * line breaks; a quote counts only at the start of a field, anywhere else it is plain text.
 */
export function spreadsheetCells(text: string, separator: string): string[] {
  const cells: string[] = []
  let i = 0
  while (i < text.length) {
    let field = ''
    if (text[i] === '"') {
      i++
      while (i < text.length && !(text[i] === '"' && text[i + 1] !== '"')) {
        field += text[i]
        i += text[i] === '"' ? 2 : 1
      }
      i++ // the closing quote; what follows up to the separator is part of the same cell
    }
    while (i < text.length && text[i] !== separator && text[i] !== '\r' && text[i] !== '\n') field += text[i++]
    cells.push(field)
    if (text[i] === separator) i++
    else while (text[i] === '\r' || text[i] === '\n') i++
  }
  return cells
}
