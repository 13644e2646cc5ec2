// Runs bin/cli.ts from an esbuild bundle kept in node_modules/.cache, rebuilt when a source it was built
// from changes: tsx compiles nothing then, but its loader alone cost a lab start 0.4 s of CPU of 1.2 (a
// loader thread, a round trip to it for each of a hundred modules), paid on every relay and lab start.
// Plain JavaScript, so that it runs before any TypeScript loader.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const REPO = join(import.meta.dirname, '..')
/** A build older than this is removed by the next build (a running process may still load its chunks). */
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000

function cacheDir(root) {
  // This file's own stamp too: a change in how bundles are made makes new ones.
  const key = createHash('sha256').update(`${root}\0${process.version}\0${stamp(import.meta.filename)}`).digest('hex').slice(0, 16)
  // Under node_modules, so that the bundle's imports of packages find them as the sources' do.
  return join(root, 'node_modules', '.cache', 'labsync-bin', key)
}

/** The sources a build was made from, each with its modification time and size. */
function stamp(file) {
  const s = statSync(file)
  return `${s.mtimeMs}:${s.size}`
}

/** The entry of a build whose every source is unchanged, or null. */
function current(root, dir) {
  let manifest
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'current.json'), 'utf8'))
    for (const [file, seen] of Object.entries(manifest.inputs)) if (stamp(join(root, file)) !== seen) return null
  } catch {
    return null // none yet, or a source was removed
  }
  const entry = join(dir, manifest.build, 'cli.js')
  return existsSync(entry) ? entry : null
}

/**
 * esbuild options that give each source its own `import.meta.dirname`/`filename`/`url`, as under
 * tsx: a bundle's would name the cache folder (relay/server.ts finds the web build by it, the SQLite
 * store its writer thread). A constant at the start of the source's first line (its line numbers stay), and
 * `define` points the names at it; esbuild renames it per module, so each keeps its own.
 */
export function ownImportMeta() {
  const name = '__labsyncImportMeta'
  return {
    define: Object.fromEntries(['dirname', 'filename', 'url'].map((key) => [`import.meta.${key}`, `${name}.${key}`])),
    plugins: [{
      name: 'own-import-meta',
      setup(build) {
        build.onLoad({ filter: /\.(ts|mts|js|mjs)$/ }, (args) => {
          if (args.path.includes('/node_modules/')) return undefined
          const meta = { dirname: dirname(args.path), filename: args.path, url: pathToFileURL(args.path).href }
          const source = readFileSync(args.path, 'utf8')
          const at = source.startsWith('#!') ? source.indexOf('\n') + 1 : 0 // after a shebang line
          const contents = `${source.slice(0, at)}const ${name} = ${JSON.stringify(meta)};${source.slice(at)}`
          return { contents, loader: /\.m?ts$/.test(args.path) ? 'ts' : 'js', resolveDir: dirname(args.path) }
        })
      },
    }],
  }
}

/**
 * How labsync bundles its sources (the CLI here, the test files in tests/helpers/test-bundle.ts):
 * ESM for this Node, packages left to node_modules, a dynamic import kept one (`labsync lab` does
 * not load the relay's packages), names and source maps as under tsx, each source its own
 * import.meta; the caller writes the output with writeOutput().
 */
export function bundleOptions() {
  return {
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    packages: 'external',
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
    ...ownImportMeta(),
  }
}

/**
 * Writes a build made with `write: false`, each source map naming its sources by absolute URL:
 * relative ones would be read from the bundle's real path, which is another tree's when
 * node_modules is a link to it (a git worktree).
 */
export function writeOutput(outputFiles) {
  for (const file of outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true })
    if (!file.path.endsWith('.map')) { writeFileSync(file.path, file.contents); continue }
    const map = JSON.parse(file.text)
    map.sources = map.sources.map((source) => pathToFileURL(resolve(dirname(file.path), source)).href)
    writeFileSync(file.path, JSON.stringify(map))
  }
}

async function build(root, dir) {
  const esbuild = await import('esbuild')
  const name = `build-${Date.now()}-${randomBytes(4).toString('hex')}`
  const out = join(dir, name)
  const began = Date.now()
  const result = await esbuild.build({
    ...bundleOptions(),
    entryPoints: { cli: join(root, 'bin', 'cli.ts') },
    absWorkingDir: root, // the metafile's paths are then relative to root
    metafile: true,
    outdir: out,
  })
  writeOutput(result.outputFiles)
  const inputs = {}
  for (const file of Object.keys(result.metafile.inputs)) inputs[file] = stamp(join(root, file))
  // A source written while esbuild read it may be in the bundle as it was before: not recorded,
  // so that the next start builds again.
  const settled = Object.keys(inputs).every((file) => statSync(join(root, file)).mtimeMs < began - 5)
  if (!settled) return join(out, 'cli.js')
  // Written aside and renamed: a process starting beside this one reads the old manifest or the new.
  const manifest = join(dir, `current-${name}.json`)
  writeFileSync(manifest, JSON.stringify({ build: name, inputs }))
  renameSync(manifest, join(dir, 'current.json'))
  removeOldBuilds(dir, name)
  return join(out, 'cli.js')
}

function removeOldBuilds(dir, keep) {
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith('build-') || entry === keep) continue
    try {
      if (Date.now() - statSync(join(dir, entry)).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(join(dir, entry), { recursive: true, force: true })
    } catch { /* another process removed it */ }
  }
}

/**
 * The bundled CLI's entry, built now if no bundle matches the sources; null when no bundle can be
 * made here (no esbuild, an unwritable node_modules): then the caller runs the sources through tsx.
 * `root` is the repository's (a test gives another).
 */
export async function bundledCli(root = REPO) {
  if (process.env.LABSYNC_NO_BUNDLE) return null
  const dir = cacheDir(root)
  const ready = current(root, dir)
  if (ready) return ready
  try {
    mkdirSync(dir, { recursive: true })
    return await build(root, dir)
  } catch {
    return null // a source that does not compile is reported by tsx, as before
  }
}
