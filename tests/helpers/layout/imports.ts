// Every module a source file names, and where that module is: a file of this repository, a Node
// built-in or an npm package. Read from the code skeleton, so an import in a comment or a string
// does not count, and from the source, for the specifier itself.
import { builtinModules } from 'node:module'
import { posix } from 'node:path'
import { codeSkeleton, lineFinder } from './skeleton.ts'

export interface ImportRef {
  /** 1-based line of the specifier. */
  line: number
  specifier: string
  /** How the file names it: `from` (import or export ... from), `import` (side effect), `import()`, `new URL`. */
  form: 'from' | 'import' | 'import()' | 'new URL'
}

export type Target =
  | { kind: 'file'; path: string }
  | { kind: 'builtin'; name: string }
  | { kind: 'package'; name: string }

/** The pattern before the opening quote of each form; the specifier runs to the matching quote. */
const FORMS: Array<{ form: ImportRef['form']; before: RegExp; after?: RegExp }> = [
  { form: 'from', before: /(?<![\w$.])from\s*(['"])/g },
  { form: 'import', before: /(?<![\w$.])import\s*(['"])/g },
  { form: 'import()', before: /(?<![\w$.])import\s*\(\s*(['"])/g },
  { form: 'new URL', before: /(?<![\w$.])new\s+URL\s*\(\s*(['"])/g, after: /^\s*,\s*import\.meta\.url\b/ },
]

export function findImports(source: string): ImportRef[] {
  const skeleton = codeSkeleton(source)
  const lineOf = lineFinder(source)
  const found: ImportRef[] = []
  for (const { form, before, after } of FORMS) {
    for (const match of skeleton.matchAll(before)) {
      const open = match.index + match[0].length
      const close = skeleton.indexOf(match[1], open)
      if (close < 0) continue
      if (after && !after.test(skeleton.slice(close + 1, close + 200))) continue
      found.push({ line: lineOf(open), specifier: source.slice(open, close), form })
    }
  }
  return found.sort((a, b) => a.line - b.line)
}

const BUILTINS = new Set(builtinModules)

/** Where `specifier`, written in repository file `file` (a path relative to the root), leads. */
export function resolveImport(file: string, specifier: string): Target {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const base = specifier.startsWith('/') ? specifier.slice(1) : posix.join(posix.dirname(file), specifier)
    return { kind: 'file', path: posix.normalize(base) }
  }
  if (specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0])) return { kind: 'builtin', name: specifier }
  return { kind: 'package', name: specifier }
}
