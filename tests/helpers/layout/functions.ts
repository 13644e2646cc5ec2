// Finds the functions of a JavaScript or TypeScript file and how many lines each spans: the
// honest small scanner behind "no function over 60 lines" (TypeScript 7 has no compiler API to
// ask). A function is a body in braces after a parameter list (declarations, expressions,
// methods, getters, constructors) or after `=>`; an arrow's parenthesised body counts too. Its
// length runs from the line of the opening brace to the line of the closing one, both included.
// Nested functions count inside the function around them as well: a factory that returns an
// object of closures is one long function.
import { codeSkeleton, lineFinder } from './skeleton.ts'

export interface FunctionSpan {
  /** The function's name where the code gives one, else `function` or `arrow function`. */
  name: string
  /** 1-based lines of the opening and the closing brace (or parenthesis, for `=> (...)`). */
  startLine: number
  endLine: number
  lines: number
}

interface Token { text: string; offset: number }

/**
 * Words before a parenthesised part and a block that make a statement, not a function. Any
 * other name may name a method (`delete(key) {`, `of(doc) {`).
 */
const STATEMENTS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'await'])
/** Type operators that a return type may carry between two names (`x is Foo`, `keyof T`). */
const TYPE_WORDS = new Set(['is', 'asserts', 'keyof', 'typeof', 'infer', 'extends', 'readonly', 'unique'])
const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' }

const isName = (text: string) => /^[A-Za-z_$#][\w$]*$/.test(text)

function tokenize(skeleton: string): Token[] {
  const tokens: Token[] = []
  const pattern = /#?[A-Za-z_$][\w$]*|\d[\w.]*|=>|(['"])\s*\1|\S/g
  for (const match of skeleton.matchAll(pattern)) tokens.push({ text: match[0], offset: match.index })
  return tokens
}

/** For each opening bracket token, the index of its closing one. */
function pairBrackets(tokens: Token[]): Map<number, number> {
  const pairs = new Map<number, number>()
  const open: number[] = []
  tokens.forEach((token, index) => {
    if (OPENERS[token.text]) { open.push(index); return }
    if (token.text !== ')' && token.text !== ']' && token.text !== '}') return
    // On a stray closer, drop openers until one that fits (unbalanced input must not throw).
    while (open.length > 0) {
      const top = open.pop()!
      if (OPENERS[tokens[top].text] === token.text) { pairs.set(top, index); break }
    }
  })
  return pairs
}

/**
 * After a parameter list's `)` at `close`, the index of the body's `{` across an optional return
 * type (`): Promise<{ ok: boolean }> {`), or -1 when no body follows: then it was a call.
 */
function bodyAfterParameters(tokens: Token[], pairs: Map<number, number>, close: number): number {
  let t = close + 1
  if (tokens[t]?.text === '{') return t
  if (tokens[t]?.text !== ':') return -1
  let expectType = true
  let angles = 0
  for (t++; t < tokens.length && t < close + 400; t++) {
    const text = tokens[t].text
    if (text === '{' && !expectType && angles === 0) return t
    if (text === '{' || text === '(' || text === '[') {
      const end = pairs.get(t)
      if (end === undefined) return -1
      t = end
      expectType = false
    } else if (text === '<') { angles++; expectType = true
    } else if (text === '>') {
      if (--angles < 0) return -1
      expectType = false
    } else if (text === ',' && angles === 0) { return -1
    } else if (['=>', '|', '&', ',', '.', '?', ':'].includes(text)) { expectType = true
    } else if (TYPE_WORDS.has(text)) { expectType = true
    } else if (isName(text) || /^['"\d`]/.test(text)) {
      if (!expectType && angles === 0) return -1
      expectType = false
    } else return -1
  }
  return -1
}

/** The name before a parameter list at `open`, or null when the `(` does not start one. */
function nameBeforeParameters(tokens: Token[], open: number): string | null {
  let p = open - 1
  if (tokens[p]?.text === '>') {
    let depth = 0
    for (; p >= 0; p--) {
      const text = tokens[p].text
      if (text === '>') depth++
      else if (text === '<' && --depth === 0) break
      else if (text === ';' || text === '{' || text === '}') return null
    }
    p--
  }
  if (tokens[p]?.text === '*') p--
  const name = tokens[p]?.text
  if (name === undefined || !isName(name) || STATEMENTS.has(name)) return null
  // `class Card extends Mixin(Base) {` opens a class body, not a function.
  let q = p - 1
  while (tokens[q]?.text === '.' && isName(tokens[q - 1]?.text ?? '')) q -= 2
  if (tokens[q]?.text === 'extends' || tokens[q]?.text === 'implements') return null
  return name
}

/** The name an arrow at `arrow` is bound to (`const open = () =>`, `open: async (x) =>`). */
function arrowName(tokens: Token[], openerOf: Map<number, number>, arrow: number): string {
  let q = arrow - 1
  if (tokens[q]?.text === ')') q = openerOf.get(q) ?? q
  if (tokens[q - 1]?.text === 'async') q--
  const binder = tokens[q - 1]?.text
  const name = tokens[q - 2]?.text
  return (binder === '=' || binder === ':') && name && isName(name) ? name : 'arrow function'
}

/**
 * Whether `=> (...)` ends with its parenthesis: the expression ends there when a list or a
 * block closes next, or the next line starts a new statement. `=> (a ?? b).trim()` goes on, and
 * its end is not known here, so it is left out (it is one line in practice).
 */
function parenthesisIsWholeBody(tokens: Token[], pairs: Map<number, number>, open: number, lineOf: (offset: number) => number): boolean {
  const close = pairs.get(open)
  if (close === undefined) return false
  const next = tokens[close + 1]
  if (next === undefined || [',', ';', ')', ']', '}'].includes(next.text)) return true
  return lineOf(next.offset) > lineOf(tokens[close].offset) && isName(next.text)
}

export function findFunctions(source: string): FunctionSpan[] {
  const tokens = tokenize(codeSkeleton(source))
  const pairs = pairBrackets(tokens)
  const openerOf = new Map([...pairs].map(([open, close]) => [close, open]))
  const lineOf = lineFinder(source)
  const spans: FunctionSpan[] = []
  const add = (name: string, open: number) => {
    const close = pairs.get(open)
    if (close === undefined) return
    const startLine = lineOf(tokens[open].offset)
    const endLine = lineOf(tokens[close].offset)
    spans.push({ name, startLine, endLine, lines: endLine - startLine + 1 })
  }
  tokens.forEach((token, index) => {
    if (token.text === '=>') {
      const body = tokens[index + 1]?.text
      if (body === '{' || (body === '(' && parenthesisIsWholeBody(tokens, pairs, index + 1, lineOf))) {
        add(arrowName(tokens, openerOf, index), index + 1)
      }
    } else if (token.text === '(') {
      const name = nameBeforeParameters(tokens, index)
      const close = pairs.get(index)
      if (name === null || close === undefined) return
      const body = bodyAfterParameters(tokens, pairs, close)
      if (body >= 0) add(name, body)
    }
  })
  return spans
}
