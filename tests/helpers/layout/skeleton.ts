// The code of a JavaScript or TypeScript file with everything that is not code blanked out, so
// that the layout checks can search it with plain patterns: comments, the text of strings,
// template literals and regular expressions become spaces. Offsets and line breaks are kept, so
// an index into the skeleton is an index into the source and a line is the same line.

/** Words after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX_WORDS = new Set([
  'return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw',
  'instanceof', 'yield', 'await',
])

const isWordCode = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36
const isSpaceCode = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 11
/** Characters after which a `/` divides: the end of an operand. */
const BEFORE_DIVISION = new Set([')', ']', '"', "'", '`'])
const SPACE = 32
const NEWLINE = 10

const skeletons = new Map<string, string>()

/**
 * Blanks comments and the contents of string, template and regular-expression literals. Quotes,
 * backticks and regex slashes stay, so a reader still sees where a literal was; the code inside
 * a template's `${...}` stays code (its `${` and closing `}` become spaces, so braces still pair).
 * Remembered per source text: several checks read the same file.
 */
export function codeSkeleton(source: string): string {
  let skeleton = skeletons.get(source)
  if (skeleton === undefined) skeletons.set(source, (skeleton = blankNonCode(source)))
  return skeleton
}

function blankNonCode(source: string): string {
  const length = source.length
  const out = new Uint16Array(length)
  for (let k = 0; k < length; k++) out[k] = source.charCodeAt(k)
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < length; k++) if (out[k] !== NEWLINE) out[k] = SPACE
  }
  // One entry per open template expression: the brace depth inside it, so its own `}` is known.
  const templateBraces: number[] = []
  // The last character of code that was not white space, for telling a regex from a division.
  let lastCode = -1
  let i = 0
  // From just after an opening quote; returns the index of the closing quote (or line end).
  const closingQuote = (quote: string): number => {
    let j = i
    while (j < length && source[j] !== quote && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1
    return Math.min(j, length)
  }
  // Template text from just after a backtick or a `}`; stops after the closing backtick or a `${`.
  const templateText = () => {
    const start = i
    while (i < length) {
      const c = source[i]
      if (c === '\\') { i += 2; continue }
      if (c === '`') { blank(start, i); lastCode = i; i++; return }
      if (c === '$' && source[i + 1] === '{') {
        blank(start, i + 2)
        i += 2
        templateBraces.push(0)
        lastCode = -1
        return
      }
      i++
    }
    blank(start, length)
  }
  const regexStartsHere = (): boolean => {
    if (lastCode < 0) return true
    if (isWordCode(source.charCodeAt(lastCode))) {
      let k = lastCode
      while (k >= 0 && isWordCode(source.charCodeAt(k))) k--
      return BEFORE_REGEX_WORDS.has(source.slice(k + 1, lastCode + 1))
    }
    return !BEFORE_DIVISION.has(source[lastCode])
  }
  const skipRegex = () => {
    let j = i + 1
    let inClass = false
    while (j < length && source[j] !== '\n') {
      const c = source[j]
      if (c === '\\') { j += 2; continue }
      if (c === '[') inClass = true
      else if (c === ']') inClass = false
      else if (c === '/' && !inClass) break
      j++
    }
    blank(i + 1, j)
    lastCode = j
    i = j + 1
  }

  if (source.startsWith('#!')) {
    const end = source.indexOf('\n')
    i = end < 0 ? length : end
    blank(0, i)
  }
  while (i < length) {
    const c = source[i]
    const next = source[i + 1]
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i)
      blank(i, end < 0 ? length : end)
      i = end < 0 ? length : end
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2)
      const stop = end < 0 ? length : end + 2
      blank(i, stop)
      i = stop
    } else if (c === "'" || c === '"') {
      i++
      const close = closingQuote(c)
      blank(i, close)
      lastCode = close
      i = close + 1
    } else if (c === '`') {
      i++
      templateText()
    } else if (c === '/' && regexStartsHere()) {
      skipRegex()
    } else if (c === '}' && templateBraces.length > 0 && templateBraces[templateBraces.length - 1] === 0) {
      templateBraces.pop()
      out[i] = SPACE
      i++
      templateText()
    } else {
      if (templateBraces.length > 0) {
        if (c === '{') templateBraces[templateBraces.length - 1]++
        else if (c === '}') templateBraces[templateBraces.length - 1]--
      }
      if (!isSpaceCode(source.charCodeAt(i))) lastCode = i
      i++
    }
  }
  let text = ''
  for (let k = 0; k < length; k += 8192) text += String.fromCharCode(...out.subarray(k, k + 8192))
  return text
}

/** A function from an offset in `text` to its 1-based line. */
export function lineFinder(text: string): (offset: number) => number {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return (offset) => {
    let low = 0
    let high = starts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (starts[mid] <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
}
