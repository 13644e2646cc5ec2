// The test runner behind `npm test`: installs the system packages the tests need, runs every
// tests/**/*.test.ts file in its own Node process, the longest first (uvu has no per-test timeout,
// so a hung file is killed here), and ends with the line `N passed, N failed` that CI reads. The files run from
// one esbuild bundle made at the start (tests/helpers/test-bundle.ts; LABSYNC_TEST_NO_BUNDLE=1:
// through tsx), and bin/labsync's bundle is made before any file starts a relay.
//
//   npm test                      every test
//   npm test -- tests/unit discount   only files whose path contains one of the words
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { cpus } from 'node:os'
import { bundledCli } from '../bin/bundle.mjs'
import { bundleTests, type TestBundle } from './helpers/test-bundle.ts'

const root = join(import.meta.dirname, '..')
const FILE_TIMEOUT_MS = Number(process.env.LABSYNC_TEST_FILE_TIMEOUT_MS ?? 240_000)
/** How long a file may take to exit after uvu printed its summary before it counts as hung. */
const EXIT_GRACE_MS = 20_000
const DIAGNOSTICS = join(import.meta.dirname, 'helpers', 'exit-diagnostics.mjs')
// Two files at a time (one per core, at most 2). Three on 2 cores gained nothing worth it (610–640 s
// of npm test in clean-clone CI runs against 603 s at two) and two of three full runs at 3 had a
// file miss a timing budget, and a flaky CI is worse than a slower one. LABSYNC_TEST_JOBS=N to try.
const PARALLEL = Number(process.env.LABSYNC_TEST_JOBS ?? Math.max(1, Math.min(2, cpus().length)))

/**
 * Files run longest first, so that no long file starts late and runs on with the other worker idle.
 * A file's expected time is its time in the last run here (TIMES_FILE, not committed), else what
 * it took in CI below (the long ones only; update when one changes much), else its size at about
 * 0.8 s a kilobyte (the median over the suite).
 */
const TIMES_FILE = join(import.meta.dirname, '.artifacts', 'test-times.json')
const CI_SECONDS: Record<string, number> = {
  'tests/integration/bench-cluster.test.ts': 50, 'tests/e2e/a11y-admin.test.ts': 45, 'tests/integration/instore.test.ts': 44,
  'tests/integration/lab.test.ts': 42, 'tests/e2e/customer-uploads.test.ts': 30, 'tests/integration/http-limits.test.ts': 28,
  'tests/e2e/a11y-customer.test.ts': 28, 'tests/integration/orders.test.ts': 27, 'tests/e2e/instore.test.ts': 23,
  'tests/integration/cluster-faults.test.ts': 21, 'tests/e2e/upload-resume.test.ts': 21, 'tests/e2e/customer-compose.test.ts': 21,
}
const SECONDS_PER_KB = 0.8

function readTimes(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(TIMES_FILE, 'utf8')) as Record<string, number>
  } catch {
    return {} // none yet, or unreadable: the table and sizes order the files
  }
}

/** The files, the longest expected first. */
function longestFirst(files: string[], lastRun: Record<string, number>): string[] {
  const expected = (file: string) => {
    const name = relative(root, file)
    return lastRun[name] ?? CI_SECONDS[name] ?? (statSync(file).size / 1024) * SECONDS_PER_KB
  }
  const seconds = new Map(files.map((file) => [file, expected(file)]))
  return [...files].sort((a, b) => seconds.get(b)! - seconds.get(a)!)
}

/** Records this run's times over the last ones (a run of a few files keeps the others'). */
function saveTimes(lastRun: Record<string, number>, results: FileResult[]): void {
  const times = { ...lastRun }
  for (const r of results) times[relative(root, r.file)] = Math.round(r.ms / 100) / 10
  try {
    mkdirSync(dirname(TIMES_FILE), { recursive: true })
    writeFileSync(TIMES_FILE, JSON.stringify(times, null, 1) + '\n')
  } catch { /* only an ordering hint: a read-only tree runs as before */ }
}

/** Debian packages the integration and browser tests drive for real. */
const SYSTEM_PACKAGES: Array<{ pkg: string; path: string }> = [
  { pkg: 'chromium', path: '/usr/bin/chromium' },
  { pkg: 'cups-ipp-utils', path: '/usr/sbin/ippeveprinter' },
  { pkg: 'dbus', path: '/usr/bin/dbus-daemon' },
  { pkg: 'libimage-exiftool-perl', path: '/usr/bin/exiftool' },
  { pkg: 'postgresql-15', path: '/usr/lib/postgresql/15/bin/postgres' },
  { pkg: 'redis-server', path: '/usr/bin/redis-server' },
  { pkg: 'haproxy', path: '/usr/sbin/haproxy' },
  { pkg: 'openssl', path: '/usr/bin/openssl' },
]

function ensureSystemPackages(): void {
  const missing = SYSTEM_PACKAGES.filter((p) => !existsSync(p.path)).map((p) => p.pkg)
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) {
    console.log(`tests need these Debian packages, not installed and not root to install them: ${missing.join(' ')}`)
    return
  }
  console.log(`installing the system packages the tests need: ${missing.join(' ')} (apt-get)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env })
  if (update.status !== 0) console.log('apt-get update failed; trying the install anyway')
  const install = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: 'inherit', env })
  if (install.status !== 0) console.log(`apt-get install failed (exit ${install.status}); tests that need ${missing.join(', ')} will fail`)
}

function findTestFiles(dir: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...findTestFiles(path))
    else if (name.endsWith('.test.ts')) found.push(path)
  }
  return found
}

interface FileResult { file: string; passed: number; failed: number; skipped: number; output: string; ms: number }

/** uvu prints `Total: N  Passed: N  Skipped: N`; failures are Total - Passed - Skipped. */
function parseUvu(output: string): { total: number; passed: number; skipped: number } | null {
  const num = (label: string) => {
    const all = [...output.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))]
    return all.length ? Number(all[all.length - 1][1]) : null
  }
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped')
  if (total === null || passed === null) return null
  return { total, passed, skipped: skipped ?? 0 }
}

function runFile(file: string, bundle: TestBundle | null): Promise<FileResult> {
  const started = Date.now()
  const args = bundle
    ? ['--enable-source-maps', '--import', DIAGNOSTICS, '--no-warnings', bundle.entry(file)]
    : ['--import', 'tsx', '--import', DIAGNOSTICS, '--no-warnings', file]
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, NODE_DISABLE_COLORS: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills the servers it started too
    })
    let output = ''
    let timedOut = false
    let hungAfterSummary = false
    const kill = () => {
      try { process.kill(-child.pid!, 'SIGKILL') } catch { /* already gone */ }
    }
    // Once the summary is out, the file has EXIT_GRACE_MS to exit; then it is asked what is still
    // open (tests/helpers/exit-diagnostics.mjs) and killed.
    let grace: NodeJS.Timeout | null = null
    const watchSummary = (chunk: string) => {
      // Only the new chunk and the line it may continue: the whole output again would be quadratic.
      const recent = output.slice(output.lastIndexOf('\n', output.length - chunk.length - 1) + 1)
      if (grace !== null || !/^\s*Total:\s+\d+/m.test(recent)) return
      grace = setTimeout(() => {
        hungAfterSummary = true
        try { process.kill(child.pid!, 'SIGUSR2') } catch { /* already gone */ }
        setTimeout(kill, 1000)
      }, EXIT_GRACE_MS)
    }
    child.stdout.on('data', (chunk) => { output += chunk; watchSummary(String(chunk)) })
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (grace !== null) clearTimeout(grace)
      if (hungAfterSummary) output += `\n(did not exit within ${EXIT_GRACE_MS} ms of its summary; killed)`
      const counts = parseUvu(output)
      const ms = Date.now() - started
      if (timedOut) output += `\n(killed after ${FILE_TIMEOUT_MS} ms)`
      if (!counts) {
        resolve({ file, passed: 0, failed: 1, skipped: 0, output: output + `\n(no uvu summary; exit ${code})`, ms })
        return
      }
      let failed = counts.total - counts.passed - counts.skipped
      // uvu swallows an error thrown in test.before and reports 0 of 0: a file that ran no test failed.
      if (counts.total === 0) {
        failed = 1
        output += '\n(no test ran: did its set-up fail?)'
      }
      if (failed === 0 && (code !== 0 || timedOut || hungAfterSummary)) failed = 1 // died after its summary, or hung
      resolve({ file, passed: counts.passed, failed, skipped: counts.skipped, output, ms })
    })
  })
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2)
  ensureSystemPackages()
  const files = findTestFiles(join(root, 'tests'))
    .filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)))
  // A file that loads the whole machine (a line `// test-runner: alone` near its top) runs after
  // the others, by itself: beside it, other files' real processes miss their time limits.
  const alone = files.filter((f) => /^\/\/ test-runner: alone\b/m.test(readFileSync(f, 'utf8').slice(0, 4000)))
  const lastRun = readTimes()
  const together = longestFirst(files.filter((f) => !alone.includes(f)), lastRun)
  await bundledCli()
  const bundle = process.env.LABSYNC_TEST_NO_BUNDLE ? null : await bundleTests(root, files)
  const results: FileResult[] = []
  const run = async (file: string) => {
    const result = await runFile(file, bundle)
    results.push(result)
    const mark = result.failed ? 'FAIL' : 'ok  '
    console.log(`${mark} ${relative(root, file)}  ${result.passed} passed, ${result.failed} failed (${(result.ms / 1000).toFixed(1)} s)`)
    if (result.failed || process.env.LABSYNC_TEST_VERBOSE) console.log(indent(result.output))
  }
  let next = 0
  const worker = async () => {
    while (next < together.length) await run(together[next++])
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
  for (const file of alone) await run(file)
  bundle?.remove()
  saveTimes(lastRun, results)
  const passed = results.reduce((n, r) => n + r.passed, 0)
  const failed = results.reduce((n, r) => n + r.failed, 0)
  const skipped = results.reduce((n, r) => n + r.skipped, 0)
  if (files.length === 0) console.log('no test files matched')
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  process.exitCode = failed || files.length === 0 ? 1 : 0
}

const indent = (text: string) => text.trimEnd().split('\n').map((l) => '    ' + l).join('\n')

await main()
