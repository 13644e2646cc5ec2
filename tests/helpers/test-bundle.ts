// The test files of one `npm test` run, bundled by esbuild in one go before any runs: a file then
// starts without tsx, whose loader cost each of them 0.5-0.9 s of CPU (150 files). Packages stay
// imports; each source keeps its own import.meta (bin/bundle.mjs), source maps name the .ts lines.
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { bundleOptions, writeOutput } from '../../bin/bundle.mjs'
import { isAlive } from './pids.ts'

export interface TestBundle {
  /** The bundled file to run for a test file (an absolute .ts path). */
  entry(file: string): string
  remove(): void
}

/** Under node_modules, so that the bundles' imports of packages find them. */
const cacheDir = (root: string) => join(root, 'node_modules', '.cache', 'labsync-tests')

/** Bundles `files`; null when that cannot be done here (then the files run through tsx as before). */
export async function bundleTests(root: string, files: string[]): Promise<TestBundle | null> {
  if (files.length === 0) return null
  removeAbandoned(root)
  const out = join(cacheDir(root), `run-${process.pid}`)
  try {
    const esbuild = await import('esbuild')
    const result = await esbuild.build({ ...bundleOptions(), entryPoints: files, absWorkingDir: root, outbase: root, outdir: out })
    writeOutput(result.outputFiles)
  } catch (error) {
    rmSync(out, { recursive: true, force: true })
    console.log(`could not bundle the test files (${(error as Error).message.split('\n')[0]}); running them through tsx`)
    return null
  }
  return {
    entry: (file) => join(out, relative(root, file).replace(/\.ts$/, '.js')),
    remove: () => rmSync(out, { recursive: true, force: true }),
  }
}

/** Bundles of runs that were killed before they could remove them. */
function removeAbandoned(root: string): void {
  const dir = cacheDir(root)
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir)) {
    const pid = Number(/^run-(\d+)$/.exec(name)?.[1])
    if (Number.isInteger(pid) && !isAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true })
  }
}

