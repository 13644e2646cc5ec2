// The web app built once per test run, not once per browser test file: a Vite build takes 10–20 s
// of a 2-core machine, and a dozen files used to make their own. The build is kept under
// tests/.artifacts/web-build/<hash of its sources>, so a second run on unchanged sources reuses it
// and a changed source gets a fresh one (tests/e2e/harness.ts hands each caller a copy). Several
// test processes may ask at once: the first takes a lock (mkdir, atomic) and builds into a
// temporary folder that it renames into place; the others wait for the folder to appear. Nobody
// writes to the folder after its rename.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { build } from 'vite'

const ROOT = join(import.meta.dirname, '..', '..')
const CACHE = join(ROOT, 'tests', '.artifacts', 'web-build')
/** What the build reads: a change to any of these makes a new build. */
const SOURCES = ['web', 'shared', 'vite.config.ts', 'package-lock.json', 'tsconfig.json']
/** A lock older than this belongs to a builder that died: take it over. */
const STALE_LOCK_MS = 180_000

/** `customer`: the PWA alone (LABSYNC_WEB_ONLY=1); `full`: with the admin page and the lab console. */
export type BuildKind = 'customer' | 'full'

/** The folder of a finished build of the current sources; builds it if no process has yet. */
export async function sharedBuild(kind: BuildKind): Promise<string> {
  const dir = join(CACHE, `${kind}-${sourceHash()}`)
  const lock = `${dir}.lock`
  mkdirSync(CACHE, { recursive: true })
  for (;;) {
    if (existsSync(join(dir, 'index.html'))) return dir
    if (takeLock(lock)) {
      try {
        if (!existsSync(join(dir, 'index.html'))) await buildInto(dir, kind)
        return dir
      } finally {
        rmSync(lock, { recursive: true, force: true })
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock)
    return true
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
    } catch { /* gone meanwhile */ }
    return false
  }
}

async function buildInto(dir: string, kind: BuildKind): Promise<void> {
  const temporary = `${dir}.tmp-${process.pid}`
  const before = process.env.LABSYNC_WEB_ONLY
  if (kind === 'customer') process.env.LABSYNC_WEB_ONLY = '1'
  else delete process.env.LABSYNC_WEB_ONLY
  try {
    await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error', build: { outDir: temporary, emptyOutDir: true } })
  } finally {
    if (before === undefined) delete process.env.LABSYNC_WEB_ONLY
    else process.env.LABSYNC_WEB_ONLY = before
  }
  renameSync(temporary, dir)
  removeOldBuilds(kind, dir)
}

/** Builds of earlier sources (and folders of builders that died), once nobody can be using them. */
function removeOldBuilds(kind: BuildKind, current: string): void {
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name)
    if (!name.startsWith(`${kind}-`) || path === current || name.endsWith('.lock')) continue
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_LOCK_MS) rmSync(path, { recursive: true, force: true })
    } catch { /* removed by another process meanwhile */ }
  }
}

function sourceHash(): string {
  const hash = createHash('sha256')
  const visit = (path: string) => {
    if (!existsSync(path)) return
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name))
      return
    }
    hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0')
  }
  for (const source of SOURCES) visit(join(ROOT, source))
  return hash.digest('hex').slice(0, 16)
}
