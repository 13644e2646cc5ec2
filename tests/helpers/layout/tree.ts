// The repository's files as git knows them, so the layout checks read the same tree on a clean
// clone as in a working copy: tracked files plus new ones not ignored, less those deleted.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface SourceFile {
  /** Path from the repository root, with `/`. */
  path: string
  text: string
}

/** Code files: .ts and .js (and their module variants), and a script with a node shebang. */
function isCode(path: string, text: () => string): boolean {
  if (/\.(ts|js|mts|mjs|cts|cjs|tsx|jsx)$/.test(path)) return true
  return !/\.[^/]*$/.test(path) && /^#!.*\bnode\b/.test(text())
}

/** Every code file under one of `folders` (top-level folder names), read from disk. */
export function codeFiles(root: string, folders: readonly string[]): SourceFile[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...folders], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const files: SourceFile[] = []
  for (const path of new Set(listed.split('\0').filter(Boolean))) {
    const full = join(root, path)
    if (!existsSync(full)) continue
    let text: string | undefined
    const read = () => (text ??= readFileSync(full, 'utf8'))
    if (isCode(path, read)) files.push({ path, text: read() })
  }
  return files.sort((a, b) => a.path.localeCompare(b.path))
}
