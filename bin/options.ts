// A command's options as one table, from which both its argument parsing and its --help text are
// made, so an option cannot be accepted without being described (or described without being accepted).
import { parseArgs } from 'node:util'
import { ConfigError } from '../shared/errors.ts'

export interface Option {
  /** The long name, without the dashes. */
  name: string
  /** What its value is called in the usage (`URL`, `H:P`); none for a flag. */
  value?: string
  /** What it does, in a sentence or two. */
  help: string
  /** The default, as the user would write it; none when there is none. */
  default?: string
  /** Shown outside brackets in the synopsis and marked in the help; the command checks it. */
  required?: boolean
  /**
   * May be given more than once (`--printer A --printer B`). The value is then every one given,
   * joined by a newline (no URI or address holds one), so a caller that reads one value still
   * gets a string; repeatedValues() splits it.
   */
  repeat?: boolean
}

/** The values of an option with `repeat`, in the order given. */
export function repeatedValues(value: string | undefined): string[] {
  return value === undefined ? [] : value.split('\n')
}

/** The parsed values: a string for an option with a value, true for a flag that is given. */
export type Values<T extends readonly Option[]> = {
  [O in T[number] as O['name']]?: O extends { value: string } ? string : boolean
}

/**
 * A mistake on the command line: printed as `labsync <command>: <problem> (see labsync <command> --help)`.
 * A ConfigError, so whoever maps those to exit code 2 maps this one too.
 */
export class UsageError extends ConfigError {
  constructor(readonly command: string, readonly problem: string) {
    super(`${command}: ${problem} (see labsync ${command} --help)`)
  }
}

export interface Parsed<T extends readonly Option[]> {
  values: Values<T>
  positionals: string[]
  /** `--help` or `-h` was given: the caller prints the help; only the positionals were read (a subcommand's help). */
  help: boolean
}

/** Parses `argv` against `table` (plus -h/--help); throws UsageError naming the first bad option. */
export function parseOptions<T extends readonly Option[]>(command: string, argv: string[], table: T): Parsed<T> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } }
  for (const option of table) config[option.name] = { type: option.value ? 'string' : 'boolean' }
  // Not strict: Node's own errors are several lines of its wording; each token is checked here instead.
  const { tokens } = parseArgs({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true })
  const positionals = tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []))
  if (tokens.some((token) => token.kind === 'option' && token.name === 'help')) return { values: {}, positionals, help: true }
  const values: Record<string, string | boolean> = {}
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const option = table.find((o) => o.name === token.name)
    if (!option) throw new UsageError(command, `unknown option ${token.rawName}`)
    if (!option.value) {
      if (token.value !== undefined) throw new UsageError(command, `${token.rawName} takes no value`)
      values[option.name] = true
    } else {
      // A value that looks like an option is one: `--relay --lab x` forgot the URL.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(command, `${token.rawName} needs a value (${option.value})`)
      }
      if (token.value.includes('\n')) throw new UsageError(command, `${token.rawName} value holds a line break`)
      const earlier = values[option.name]
      values[option.name] = option.repeat && typeof earlier === 'string' ? `${earlier}\n${token.value}` : token.value
    }
  }
  return { values: values as Values<T>, positionals, help: false }
}

const WIDTH = 100

/** The synopsis: `labsync <command> <before> --required X … [options] <after>`. */
export function synopsis(command: string, table: readonly Option[], before = '', after = ''): string {
  const required = table.filter((o) => o.required).map((o) => `--${o.name} ${o.value ?? ''}`.trim())
  return ['usage: labsync', command, before, ...required, '[options]', after].filter(Boolean).join(' ')
}

/** One line (wrapped) per option: its name and value, what it does, its default; then -h, --help. */
export function optionList(table: readonly Option[]): string {
  const rows = table.map((o): [string, string] => {
    const notes = [o.required ? 'required' : '', o.repeat ? 'may be repeated' : '', o.default !== undefined ? `default ${o.default}` : ''].filter(Boolean)
    return [`--${o.name}${o.value ? ` ${o.value}` : ''}`, notes.length ? `${o.help} (${notes.join('; ')})` : o.help]
  })
  rows.push(['-h, --help', 'print this help and exit'])
  return columns(rows)
}

/** Two columns, the second wrapped at WIDTH and indented under itself. */
export function columns(rows: readonly (readonly [string, string])[]): string {
  const left = Math.max(...rows.map(([name]) => name.length)) + 4
  return rows.map(([name, text]) => `  ${name.padEnd(left - 2)}${wrap(text, WIDTH - left).join(`\n${' '.repeat(left)}`)}`).join('\n')
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  return [...lines, line]
}
