// The architecture as a test (issue 14): which folder may import which, close codes only from
// shared/errors.ts, and the size limits of the house style. It reads the tree git knows, so it
// checks a clean clone the same as a working copy; each failure lists every offender.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { codeFiles, type SourceFile } from '../helpers/layout/tree.ts'
import { findImports, resolveImport, type ImportRef, type Target } from '../helpers/layout/imports.ts'
import { findFunctions } from '../helpers/layout/functions.ts'
import { codeSkeleton, lineFinder } from '../helpers/layout/skeleton.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SOURCE_FOLDERS = ['bin', 'shared', 'sync-server', 'storage', 'photos', 'relay', 'lab-node', 'admin', 'web']
const SERVER_FOLDERS = ['bin', 'sync-server', 'storage', 'photos', 'relay', 'lab-node', 'admin']
const MAX_FILE_LINES = 400
const MAX_FUNCTION_LINES = 60
/** The one module allowed to spell a close code. */
const CLOSE_CODES_HOME = 'shared/errors.ts'
/** A close code (4400-4599) standing alone: not part of a longer number, a name or a decimal. */
const CLOSE_CODE_LITERAL = /(?<![\w$.])4[45]\d\d(?![\w$.])/g

const sources = codeFiles(ROOT, SOURCE_FOLDERS)
const under = (folder: string) => sources.filter((file) => file.path.startsWith(`${folder}/`))
const inside = (path: string, folder: string) => path.startsWith(`${folder}/`)
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0)

/** Fails with every offender listed, one a line, when there is any. */
function noOffenders(offenders: string[], rule: string): void {
  if (offenders.length === 0) return
  assert.unreachable(`${rule}: ${offenders.length} offender(s)\n    ${offenders.join('\n    ')}`)
}

/** Each import of `files` that `judge` refuses, as `file:line imports 'x' (-> where): why`. */
function importOffenders(files: SourceFile[], judge: (target: Target, file: SourceFile) => string | null): string[] {
  const offenders: string[] = []
  for (const file of files) {
    for (const ref of findImports(file.text)) {
      const target = resolveImport(file.path, ref.specifier)
      const why = judge(target, file)
      if (why) offenders.push(`${file.path}:${ref.line} ${describe(ref, target)}: ${why}`)
    }
  }
  return offenders
}

function describe(ref: ImportRef, target: Target): string {
  const where = target.kind === 'file' && target.path !== ref.specifier ? ` (-> ${target.path})` : ''
  return `${ref.form} '${ref.specifier}'${where}`
}

/** A judge that refuses files under any of `folders`. */
const refuseFolders = (folders: string[]) => (target: Target) => {
  if (target.kind !== 'file') return null
  const folder = folders.find((f) => inside(target.path, f))
  return folder ? `${folder}/ is out of bounds` : null
}

// The scanners themselves: the rules below are only as honest as these.

const fn = (name: string, bodyLines: number) =>
  `function ${name}() {\n${Array.from({ length: bodyLines }, (_, i) => `  step(${i})\n`).join('')}}\n`

test('scanner: a 61-line function is caught, a 60-line one is not', () => {
  const spans = findFunctions(fn('long', 59) + fn('fits', 58))
  assert.equal(spans.map((s) => [s.name, s.lines]), [['long', 61], ['fits', 60]])
  assert.equal(spans.filter((s) => s.lines > MAX_FUNCTION_LINES).map((s) => s.name), ['long'])
})

test('scanner: braces in strings, templates, comments and regular expressions do not end a function', () => {
  const source = [
    'export async function tricky(a: string): Promise<{ ok: boolean }> {', // 1
    "  const s = '}' + \"}\" + '{'", //                                    2
    '  const t = `}${a.replace(/}/g, "{")}` + `${`{`}`', //                 3
    '  // }', //                                                           4
    '  /* } */', //                                                        5
    '  const r = /\\}[}]/.test(a) ? a / 2 : 0', //                          6
    "  if (a) { return { ok: s === '}' } }", //                            7
    '  return { ok: t.length > 0 && r > 0 }', //                           8
    '}', //                                                                9
    'const after = () => {', //                                            10
    '}', //                                                                11
  ].join('\n')
  assert.equal(findFunctions(source).map((s) => [s.name, s.startLine, s.endLine]), [['tricky', 1, 9], ['after', 10, 11]])
})

test('scanner: methods, getters, constructors and arrows are functions; if, for and classes are not', () => {
  const source = [
    'class Room extends Base(Thing) {', //        1
    '  constructor(x: number) {', //             2
    '    super(x)', //                             3
    '  }', //                                      4
    '  get size(): number { return 1 }', //        5
    '  async *events<T>(from: T): AsyncGenerator<T> {', // 6
    '    for (const e of list) { if (e) { yield e } }', // 7
    '  }', //                                      8
    '  private handlers = { open: (e: Event) => {', // 9
    '  } }', //                                   10
    '  delete(key: string) { for await (const k of keys) {} }', // 11
    '}', //                                       12
    'const total = (xs: number[]) => (', //      13
    '  xs.length', //                             14
    ')', //                                       15
    'const first = (xs: string[]) => (xs[0] ?? "").trim()', // 16: the body's end is not known
  ].join('\n')
  assert.equal(findFunctions(source).map((s) => [s.name, s.startLine, s.lines]), [
    ['constructor', 2, 3], ['size', 5, 1], ['events', 6, 3], ['open', 9, 2], ['delete', 11, 1], ['total', 13, 3],
  ])
})

test('scanner: a factory returning an object of closures is one function as long as all of them', () => {
  const source = `export function createRoom() {\n  return {\n    open() {\n    },\n    close: () => {\n    },\n  }\n}\n`
  const spans = findFunctions(source)
  assert.equal(spans.find((s) => s.name === 'createRoom')?.lines, 8)
  assert.equal(spans.map((s) => s.name), ['createRoom', 'open', 'close'])
})

test('scanner: imports are found in every form, and not in comments or strings', () => {
  const source = [
    "import * as Y from 'yjs'",
    "import type { Room } from '../sync-server/room.ts'",
    "export { close } from './close.ts'",
    "import './side-effect.ts'",
    "const lazy = await import('../relay/server.ts')",
    "const worker = new URL('./writer.js', import.meta.url)",
    "const page = new URL('/api', base) // not a module",
    "// import { x } from '../relay/no.ts'",
    "const text = \"import { y } from '../relay/no.ts'\"",
    "const list = Array.from('abc')",
  ].join('\n')
  assert.equal(findImports(source).map((r) => [r.line, r.form, r.specifier]), [
    [1, 'from', 'yjs'], [2, 'from', '../sync-server/room.ts'], [3, 'from', './close.ts'],
    [4, 'import', './side-effect.ts'], [5, 'import()', '../relay/server.ts'], [6, 'new URL', './writer.js'],
  ])
  assert.equal(resolveImport('lab-node/lan/server.ts', '../../relay/x.ts'), { kind: 'file', path: 'relay/x.ts' })
  assert.equal(resolveImport('shared/a.ts', 'node:fs').kind, 'builtin')
  assert.equal(resolveImport('shared/a.ts', 'path').kind, 'builtin')
  assert.equal(resolveImport('shared/a.ts', 'lib0/encoding').kind, 'package')
})

test('scanner: a close code counts in code, not in comments, strings or longer numbers', () => {
  const source = "ws.close(4403)\n// 4403\nconst s = '4503'\nconst n = 14403 + 4403.5 + 0x4403\nconst m = `${4499}`\n"
  const skeleton = codeSkeleton(source)
  const lineOf = lineFinder(source)
  assert.equal([...skeleton.matchAll(CLOSE_CODE_LITERAL)].map((m) => [lineOf(m.index), m[0]]), [[1, '4403'], [5, '4499']])
})

// The rules.

test('[L1] nothing under lab-node/ imports relay/', () => {
  noOffenders(importOffenders(under('lab-node'), refuseFolders(['relay'])), 'lab-node/ imports relay/')
})

test('[L2] web/ imports only web/, shared/ and packages', () => {
  const offenders = importOffenders(under('web'), (target) => {
    if (target.kind !== 'file' || inside(target.path, 'web') || inside(target.path, 'shared')) return null
    return 'the browser code reaches the server side'
  })
  noOffenders(offenders, 'web/ imports beyond web/ and shared/')
})

test('[L3] sync-server/ imports only shared/, storage/doc-store.ts, packages and itself', () => {
  const allowed = (path: string) =>
    inside(path, 'sync-server') || inside(path, 'shared') || /^storage\/doc-store(\.ts|\.js)?$/.test(path)
  const offenders = importOffenders(under('sync-server'), (target) =>
    target.kind === 'file' && !allowed(target.path) ? 'the sync core knows no orders, no SQL' : null)
  noOffenders(offenders, 'sync-server/ imports beyond its bounds')
})

test('[L4] storage/ imports nothing from relay/, lab-node/, sync-server/, photos/ or web/', () => {
  const offenders = importOffenders(under('storage'), refuseFolders(['relay', 'lab-node', 'sync-server', 'photos', 'web']))
  noOffenders(offenders, 'storage/ imports its users')
})

test('[L5] shared/ imports only shared/ and packages, and what the web app loads of it no Node module', () => {
  // shared/signing.ts (Ed25519 with node:crypto) is for the relay and the lab node only: the PWA
  // carries tokens and stamps as opaque values. What web/ reaches must run in a browser.
  const fromWeb = reachedFrom(under('web'))
  const offenders = importOffenders(under('shared'), (target, file) => {
    if (target.kind === 'file' && !inside(target.path, 'shared')) return 'outside shared/'
    if (target.kind === 'builtin' && fromWeb.has(file.path)) return 'a Node module, in a file the web app loads'
    return null
  })
  noOffenders(offenders, 'shared/ imports beyond shared/')
})

/** The files `start` loads, transitively; an `import type` is erased and loads nothing. */
function reachedFrom(start: SourceFile[]): Set<string> {
  const byPath = new Map(sources.map((file) => [file.path, file]))
  const reached = new Set<string>()
  const queue = [...start]
  for (let file = queue.pop(); file; file = queue.pop()) {
    if (reached.has(file.path)) continue
    reached.add(file.path)
    const typeOnly = new Set([...codeSkeleton(file.text).matchAll(/(?<![\w$.])(?:import|export)\s+type\s[^;]*?from\s*['"]/g)]
      .map((match) => lineFinder(file.text)(match.index + match[0].length)))
    for (const ref of findImports(file.text)) {
      if (ref.form === 'from' && typeOnly.has(ref.line)) continue
      const target = resolveImport(file.path, ref.specifier)
      const next = target.kind === 'file' ? byPath.get(target.path) : undefined
      if (next && !reached.has(next.path)) queue.push(next)
    }
  }
  return reached
}

test(`[L6] no close-code literal (4400-4599) outside ${CLOSE_CODES_HOME}`, () => {
  const offenders: string[] = []
  for (const file of sources) {
    if (file.path === CLOSE_CODES_HOME) continue
    const lineOf = lineFinder(file.text)
    for (const match of codeSkeleton(file.text).matchAll(CLOSE_CODE_LITERAL)) {
      offenders.push(`${file.path}:${lineOf(match.index)} ${match[0]}`)
    }
  }
  noOffenders(offenders, `close codes spelled outside ${CLOSE_CODES_HOME}`)
})

test(`[L7] no source file over ${MAX_FILE_LINES} lines`, () => {
  const offenders = sources
    .map((file) => ({ path: file.path, lines: lineCount(file.text) }))
    .filter((file) => file.lines > MAX_FILE_LINES)
    .map((file) => `${file.path}: ${file.lines} lines`)
  noOffenders(offenders, `files over ${MAX_FILE_LINES} lines`)
})

test(`[L8] no function over ${MAX_FUNCTION_LINES} lines in the server code`, () => {
  const offenders: string[] = []
  for (const file of sources.filter((f) => SERVER_FOLDERS.some((folder) => inside(f.path, folder)))) {
    for (const span of findFunctions(file.text)) {
      if (span.lines > MAX_FUNCTION_LINES) offenders.push(`${file.path}:${span.startLine} ${span.name}: ${span.lines} lines`)
    }
  }
  noOffenders(offenders, `functions over ${MAX_FUNCTION_LINES} lines`)
})

test('the checks see the tree: every source folder has files', () => {
  for (const folder of SOURCE_FOLDERS) assert.ok(under(folder).length > 0, `no code files found under ${folder}/`)
})

test.run()
