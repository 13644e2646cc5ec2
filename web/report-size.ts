// Reports, after a build, what a customer's first visit downloads as a browser receives it (the
// brotli copies the build wrote, which the relay sends): the page, its entry script and static
// imports, the service worker and everything it precaches during that same visit; and fails the
// build over the budget. Used as a Vite plugin (vite.config.ts) and as a script:
//   node --import tsx web/report-size.ts [outDir]
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Plugin, ResolvedConfig } from 'vite'

export interface SizeReport {
  /** The entry script and its static imports, as the page loads them before it can render. */
  page: FileSize[]
  /** sw.js and the Workbox runtime it loads. */
  serviceWorker: FileSize[]
  /** JavaScript the service worker downloads at install that the page did not already load. */
  precachedOnly: FileSize[]
  /** Everything above: all JavaScript a first visit downloads, gzip level 9. */
  totalGzip: number
  /**
   * Every response of a first visit, as sent (`served`): the HTML, what it links, the scripts, the
   * service worker and each precache fetch; a precached file the page already loaded counts again
   * when Workbox refetches it (a revisioned entry bypasses the HTTP cache; a hashed one does not).
   */
  firstVisit: FileSize[]
  /** The sum of firstVisit's served bytes: what the budget limits. */
  firstVisitBytes: number
}

export interface FileSize {
  file: string
  bytes: number
  gzip: number
  /** What the relay sends to a browser that accepts brotli: the .br copy when the build wrote one. */
  served: number
}

/** The budget for a first visit, compressed as served, service worker fetches included. */
export const FIRST_VISIT_BUDGET_KIB = 120

const KiB = 1024

function sizeOf(outDir: string, file: string): FileSize {
  const bytes = readFileSync(join(outDir, file))
  const brotli = join(outDir, `${file}.br`)
  const served = existsSync(brotli) ? statSync(brotli).size : bytes.length
  return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, served }
}

/** Local files the HTML makes a browser fetch at once: scripts, preloads, styles, the manifest, the icon. */
function linkedFromHtml(html: string): string[] {
  const refs = [
    ...[...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]),
    ...[...html.matchAll(/<link[^>]+rel="(?:modulepreload|stylesheet|manifest|icon)"[^>]*href="([^"]+)"/g)].map((m) => m[1]),
  ]
  return refs.filter((ref) => !/^[a-z]+:/i.test(ref)).map((ref) => outPath('index.html', ref))
}

/** `/assets/a.js`, `./b.js` or `assets/c.js` relative to `from` (a file in outDir), as an outDir path. */
function outPath(from: string, ref: string): string {
  if (ref.startsWith('/')) return ref.slice(1)
  return posix.normalize(posix.join(posix.dirname(from), ref))
}

/** Static `import … from "./x.js"` and `import "./x.js"` of a built ES module (not `import()`). */
function staticImports(code: string): string[] {
  const refs: string[] = []
  for (const match of code.matchAll(/(?:^|[;}\s)])import\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+\.js)["']/g)) refs.push(match[1])
  for (const match of code.matchAll(/(?:^|[;}\s)])export\s*(?:\*|\{[^}]*\})\s*from\s*["']([^"']+\.js)["']/g)) refs.push(match[1])
  return refs
}

export function measure(outDir: string): SizeReport {
  const html = readFileSync(join(outDir, 'index.html'), 'utf8')
  const roots = [
    ...[...html.matchAll(/<script[^>]+type="module"[^>]*src="([^"]+)"/g)].map((m) => m[1]),
    ...[...html.matchAll(/<link[^>]+rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]),
  ].map((ref) => outPath('index.html', ref))
  const page = new Set<string>()
  const visit = (file: string) => {
    if (page.has(file) || !existsSync(join(outDir, file))) return
    page.add(file)
    for (const ref of staticImports(readFileSync(join(outDir, file), 'utf8'))) visit(outPath(file, ref))
  }
  roots.forEach(visit)

  const serviceWorker: string[] = []
  const precached: string[] = []
  const firstVisit = ['index.html', ...linkedFromHtml(html).filter((file) => existsSync(join(outDir, file)))]
  for (const file of page) if (!firstVisit.includes(file)) firstVisit.push(file)
  if (existsSync(join(outDir, 'sw.js'))) {
    const sw = readFileSync(join(outDir, 'sw.js'), 'utf8')
    serviceWorker.push('sw.js')
    // The Workbox runtime is loaded as `define(["./workbox-<hash>"], …)`, without the .js.
    for (const match of sw.matchAll(/["'](?:\.\/)?(workbox-[0-9a-f]+)(?:\.js)?["']/g)) {
      const file = `${match[1]}.js`
      if (!serviceWorker.includes(file) && existsSync(join(outDir, file))) serviceWorker.push(file)
    }
    for (const match of sw.matchAll(/url:\s*["']([^"']+\.js)["']/g)) {
      const file = outPath('sw.js', match[1])
      if (!page.has(file) && !serviceWorker.includes(file) && !precached.includes(file)) precached.push(file)
    }
    firstVisit.push(...serviceWorker)
    for (const match of sw.matchAll(/\{\s*url:\s*["']([^"']+)["']\s*,\s*revision:\s*(null|["'][^"']*["'])/g)) {
      const file = outPath('sw.js', match[1])
      const revisioned = match[2] !== 'null'
      if (existsSync(join(outDir, file)) && (revisioned || !firstVisit.includes(file))) firstVisit.push(file)
    }
  }
  const sizes = (files: Iterable<string>) => [...files].map((file) => sizeOf(outDir, file))
  const report = { page: sizes(page), serviceWorker: sizes(serviceWorker), precachedOnly: sizes(precached), totalGzip: 0, firstVisit: sizes(firstVisit), firstVisitBytes: 0 }
  report.totalGzip = [...report.page, ...report.serviceWorker, ...report.precachedOnly].reduce((sum, f) => sum + f.gzip, 0)
  report.firstVisitBytes = report.firstVisit.reduce((sum, f) => sum + f.served, 0)
  return report
}

const kib = (bytes: number) => `${(bytes / KiB).toFixed(1)} KiB`
const served = (files: FileSize[]) => files.reduce((total, f) => total + f.served, 0)
const list = (files: FileSize[]) => files.map((f) => `${f.file} ${kib(f.served)}`).join(', ')

export function formatReport(report: SizeReport, budgetKiB: number): string {
  const lines = [
    `first visit, as a browser receives it (brotli): ${kib(report.firstVisitBytes)} of a ${budgetKiB} KiB budget`,
    `  page (entry + static imports): ${kib(served(report.page))}  ${list(report.page)}`,
    `  service worker:                ${kib(served(report.serviceWorker))}  ${list(report.serviceWorker)}`,
    `  scripts precached at install:  ${kib(served(report.precachedOnly))}  ${list(report.precachedOnly)}`,
    `  every response:                ${list(report.firstVisit)}`,
  ]
  return lines.join('\n')
}

/**
 * A Vite plugin that runs `step` on the finished build (after the service worker is written),
 * in the order the plugins are listed; a failed build is left alone, its own error is the one reported.
 */
export function afterBuildPlugin(name: string, step: (outDir: string, config: ResolvedConfig) => void): Plugin {
  let config: ResolvedConfig
  let failed = false
  return {
    name,
    apply: 'build',
    configResolved(resolved) { config = resolved },
    buildEnd(error) { failed = Boolean(error) },
    closeBundle: {
      order: 'post',
      sequential: true,
      handler() {
        if (!failed) step(resolve(config.root, config.build.outDir), config)
      },
    },
  }
}

/** Prints the report after the service worker is written; fails the build over the budget. */
export function reportSizePlugin(options: { budgetKiB: number }): Plugin {
  return afterBuildPlugin('labsync:report-size', (outDir, config) => {
    const report = measure(outDir)
    config.logger.info(`\n${formatReport(report, options.budgetKiB)}`)
    if (report.firstVisitBytes > options.budgetKiB * KiB) {
      throw new Error(`a first visit receives ${kib(report.firstVisitBytes)} (brotli, as served), over the ${options.budgetKiB} KiB budget`)
    }
  })
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outDir = resolve(process.argv[2] ?? join(dirname(import.meta.filename), '..', 'dist'))
  const report = measure(outDir)
  console.log(formatReport(report, FIRST_VISIT_BUDGET_KIB))
  process.exitCode = report.firstVisitBytes > FIRST_VISIT_BUDGET_KIB * KiB ? 1 : 0
}
