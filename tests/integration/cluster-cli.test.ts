// Cluster mode from the command line: `labsync relay --store … --fanout … --images postgres|DIR
// --signing-key FILE` (or LABSYNC_STORE, LABSYNC_FANOUT, LABSYNC_IMAGES) starts a relay on
// PostgreSQL and Redis; a missing part, or a DIR that cannot hold the photos, is refused with one
// line naming it, exit 2, before the data dir is touched; no password in a URL is ever printed;
// PostgreSQL unreachable at start is one line, exit 1. A cluster relay keeps nothing in SQLite:
// under --data it keeps only the photos it is receiving and its copies of served photos (a full
// disk there is still unhealthy; that case mounts a tmpfs, so needs root, as deploy-health).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LABSYNC, connect, makePhoto, removeDir, signUp, startRelay, synced, tempDir, uploadPhoto, type RelayProcess } from '../helpers/relay.ts'
import { fillFilesystem } from '../helpers/full-disk.ts'
import type { PostgresServer } from '../helpers/postgres.ts'
import { startPostgresRetrying, storedDoc } from '../helpers/cluster.ts'
import { startRedis, type RedisServer } from '../helpers/redis.ts'
import { poll } from '../helpers/cluster-load.ts'
import { freePort } from '../helpers/ippeveprinter.ts'
import { redact, redactSecrets } from '../../relay/cluster-args.ts'

const SECRET = 'pa55-Not-To-Be-Printed'
const dirs: string[] = []
let postgres: PostgresServer | null = null
let redis: RedisServer | null = null
test.after(async () => {
  await redis?.stop()
  await postgres?.stop()
  dirs.forEach(removeDir)
})

function newDir(): string {
  const dir = tempDir('labsync-cluster-cli-')
  dirs.push(dir)
  return dir
}

function keyFile(): string {
  const file = join(newDir(), 'signing-key.pem')
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 })
  return file
}

interface Run { code: number | null; stdout: string; stderr: string; dataDir: string }

/** `labsync relay` with `args` until it exits, or until it listens (then stopped). */
function relay(args: string[], env: Record<string, string> = {}): Promise<Run & { listened: boolean }> {
  const dataDir = join(newDir(), 'data')
  const child = spawn(process.execPath, [LABSYNC, 'relay', '--port', '0', '--data', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LABSYNC_STORE: '', LABSYNC_FANOUT: '', LABSYNC_IMAGES: '', LABSYNC_SIGNING_KEY: '', ...env },
  })
  let stdout = '', stderr = '', listened = false
  child.stdout!.on('data', (c) => {
    stdout += c
    if (!listened && /relay listening on/.test(stdout)) { listened = true; child.kill('SIGTERM') }
  })
  child.stderr!.on('data', (c) => (stderr += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) => child.once('close', (code) => {
    clearTimeout(timer)
    resolve({ code, stdout, stderr, dataDir, listened })
  }))
}

/** Refused: exit 2, one line on stderr matching `pattern`, no secret anywhere, nothing made under --data. */
function refused(run: Run, pattern: RegExp, what: string): void {
  assert.is(run.code, 2, `${what}: exit code (${run.stderr})`)
  const lines = run.stderr.trim().split('\n')
  assert.is(lines.length, 1, `${what}: one line: ${run.stderr}`)
  assert.match(lines[0], pattern, what)
  assert.not.ok((run.stdout + run.stderr).includes(SECRET), `${what}: the password was printed`)
  assert.not.ok(existsSync(join(run.dataDir, 'relay-signing-key.pem')) || existsSync(join(run.dataDir, 'relay.sqlite')), `${what}: the data dir was touched`)
}

test('redact() hides the password of a URL; redactSecrets() every form of it in a driver\'s message', () => {
  assert.is(redact(`postgres://labsync:${SECRET}@db:5432/labsync`), 'postgres://labsync:***@db:5432/labsync')
  assert.is(redact(`redis://:${SECRET}@cache:6379`), 'redis://:***@cache:6379')
  assert.is(redact('postgres://postgres@db/labsync'), 'postgres://postgres@db/labsync', 'a user name alone is no secret')
  assert.is(redact('not a url'), 'not a url')
  const encoded = 'p%40ss%2Fword'
  const message = `connect to postgres://u:${encoded}@db failed; password "p@ss/word" rejected`
  assert.is(redactSecrets(message, [`postgres://u:${encoded}@db`]), 'connect to postgres://u:***@db failed; password "***" rejected')
})

const PG = `postgres://labsync:${SECRET}@127.0.0.1:1/labsync`
const REDIS = `redis://:${SECRET}@127.0.0.1:1`

test('--store without --fanout, or without --signing-key, is refused naming what is missing', async () => {
  const key = keyFile()
  refused(await relay(['--store', PG, '--signing-key', key]), /^labsync: cluster mode \(--store\) needs --fanout redis:\/\/… \(or LABSYNC_FANOUT\)/, 'no --fanout')
  refused(await relay(['--store', PG, '--fanout', REDIS]), /^labsync: cluster mode \(--store\) needs --signing-key FILE \(or LABSYNC_SIGNING_KEY\)/, 'no --signing-key')
  refused(await relay([], { LABSYNC_STORE: PG, LABSYNC_FANOUT: REDIS }), /^labsync: cluster mode \(LABSYNC_STORE\) needs --signing-key FILE/, 'no key, by environment')
})

test('--images DIR that cannot hold the photos is refused: missing, not a directory, open to others, relative', async () => {
  const key = keyFile()
  const cluster = ['--store', PG, '--fanout', REDIS, '--signing-key', key]
  const missing = join(newDir(), 'not-mounted')
  refused(await relay([...cluster, '--images', missing]), new RegExp(`^labsync: --images "${missing}" does not exist \\(mount the shared directory first\\); give "postgres" or a directory every relay mounts$`), '--images missing')
  const file = join(newDir(), 'a-file')
  writeFileSync(file, '')
  refused(await relay([...cluster, '--images', file]), /^labsync: --images ".*" is not a directory;/, '--images a file')
  const open = newDir()
  chmodSync(open, 0o755)
  refused(await relay(cluster, { LABSYNC_IMAGES: open }), /^labsync: LABSYNC_IMAGES ".*" is open to other users \(mode 0755\): chmod 700 it;/, 'LABSYNC_IMAGES open to others')
  refused(await relay(cluster, { LABSYNC_IMAGES: 'local' }), /^labsync: LABSYNC_IMAGES "local" is not an absolute path/, 'LABSYNC_IMAGES relative')
  refused(await relay([...cluster, '--images', `s3://key:${SECRET}@photos`]), /^labsync: --images "s3:\/\/key:\*\*\*@photos" is not an absolute path/, 'a bucket URL')
})

test('--fanout or --images without --store is refused', async () => {
  refused(await relay(['--fanout', REDIS]), /^labsync: --fanout is for cluster mode: give --store postgres:\/\/… \(or LABSYNC_STORE\) too$/, '--fanout alone')
  refused(await relay(['--images', 'postgres']), /^labsync: --images is for cluster mode/, '--images alone')
  refused(await relay(['--images', newDir()]), /^labsync: --images is for cluster mode/, '--images DIR alone')
  refused(await relay([], { LABSYNC_FANOUT: REDIS }), /^labsync: LABSYNC_FANOUT is for cluster mode/, 'LABSYNC_FANOUT alone')
})

test('a URL that is not postgres:// or redis:// is refused, its password redacted', async () => {
  const key = keyFile()
  refused(await relay(['--store', `mysql://root:${SECRET}@db/x`, '--fanout', REDIS, '--signing-key', key]), /^labsync: --store "mysql:\/\/root:\*\*\*@db\/x" is not a postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE URL$/, 'mysql')
  refused(await relay(['--store', PG, '--fanout', `http://:${SECRET}@cache:6379`, '--signing-key', key]), /^labsync: --fanout "http:\/\/:\*\*\*@cache:6379" is not a redis:/, 'http fan-out')
})

test('PostgreSQL unreachable at start: one line, exit 1, the password redacted', async () => {
  const port = await freePort()
  const run = await relay(['--store', `postgres://labsync:${SECRET}@127.0.0.1:${port}/labsync`, '--fanout', REDIS, '--signing-key', keyFile()])
  assert.is(run.code, 1, run.stderr)
  assert.not.ok(run.listened)
  const lines = run.stderr.trim().split('\n')
  assert.is(lines.length, 1, run.stderr)
  assert.match(lines[0], /^labsync: relay: could not start in cluster mode: .*ECONNREFUSED/)
  assert.not.ok((run.stdout + run.stderr).includes(SECRET), 'the password was printed')
  assert.match(run.stdout, /cluster mode: documents and photos in PostgreSQL postgres:\/\/labsync:\*\*\*@127\.0\.0\.1:\d+\/labsync/)
})

test('Redis unreachable at start: one line, exit 1, the password redacted', async () => {
  postgres ??= await startPostgresRetrying({ fsync: 'off' })
  const store = await postgres.createSchema('redis_unreachable')
  const port = await freePort()
  const run = await relay(['--store', store, '--fanout', `redis://:${SECRET}@127.0.0.1:${port}`, '--signing-key', keyFile()])
  assert.is(run.code, 1, run.stderr)
  const lines = run.stderr.trim().split('\n')
  assert.is(lines.length, 1, run.stderr)
  assert.match(lines[0], /^labsync: relay: could not start in cluster mode: fan-out: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/)
  assert.not.ok((run.stdout + run.stderr).includes(SECRET), 'the password was printed')
})

test('with PostgreSQL and Redis there, the flags start a relay in cluster mode; the environment does too', async () => {
  postgres ??= await startPostgresRetrying({ fsync: 'off' })
  redis ??= await startRedis()
  const key = keyFile()
  // Trust authentication: PostgreSQL ignores the password, which must still never be printed.
  const store = `postgres://postgres:${SECRET}@127.0.0.1:${postgres.port}/postgres`
  const byFlags = await relay(['--store', store, '--fanout', redis.url, '--images', 'postgres', '--signing-key', key])
  assert.ok(byFlags.listened, byFlags.stdout + byFlags.stderr)
  assert.match(byFlags.stdout, /relay: cluster mode: documents and photos in PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/)
  assert.not.ok((byFlags.stdout + byFlags.stderr).includes(SECRET), 'the password was printed')
  const byEnv = await relay([], { LABSYNC_STORE: store, LABSYNC_FANOUT: redis.url, LABSYNC_SIGNING_KEY: key })
  assert.ok(byEnv.listened, byEnv.stdout + byEnv.stderr)
  assert.match(byEnv.stdout, /relay: cluster mode:/)
  const images = newDir()
  const withDir = await relay(['--store', store, '--fanout', redis.url, '--images', images, '--signing-key', key])
  assert.ok(withDir.listened, withDir.stdout + withDir.stderr)
  assert.ok(withDir.stdout.includes(`photos' files in ${images}, fan-out through Redis`), withDir.stdout)
})

/** A cluster relay process (--images postgres) on `dataDir`, storing in a database of its own. */
async function clusterRelay(dataDir: string, database: string): Promise<{ running: RelayProcess; store: string }> {
  postgres ??= await startPostgresRetrying({ fsync: 'off' })
  redis ??= await startRedis()
  const store = await postgres.createDatabase(database)
  const running = await startRelay({ dataDir, env: { LABSYNC_STORE: store, LABSYNC_FANOUT: redis.url, LABSYNC_IMAGES: '', LABSYNC_SIGNING_KEY: keyFile() } })
  return { running, store }
}

/** Every path under `dir`, relative, directories included. */
function pathsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

test('a cluster relay makes no SQLite file, no clean-shutdown marker and no key under --data: only photos received and its copies of them', async () => {
  const dataDir = newDir() // empty
  const { running, store } = await clusterRelay(dataDir, 'no_sqlite')
  try {
    const me = await signUp(running.url)
    const { doc, provider } = connect(running, `user/${me.userId}`, me.token)
    try {
      await synced(provider, 10_000)
      doc.getMap('drafts').set('d1', 'stored in PostgreSQL')
      await poll(async () => (await storedDoc(store, `user/${me.userId}`)).getMap('drafts').get('d1') === 'stored in PostgreSQL', 'the write in PostgreSQL', 10_000)
    } finally {
      provider.destroy()
    }
    const sha = await uploadPhoto(running.url, me.token, await makePhoto(18))
    await running.stop()
    assert.is(running.process.exitCode, 0, running.output())
    const paths = pathsUnder(dataDir)
    assert.equal(paths.filter((path) => /\.sqlite/.test(path)), [], `no SQLite file under --data: ${paths.join(', ')}`)
    // Each of what is left has a reason: a photo is received (hashed, decoded) from a file before
    // it is stored, and with --images postgres this relay keeps a copy of the photos it handled.
    const expected = ['images', 'images/.incoming', `images/${sha.slice(0, 2)}`, `images/${sha.slice(0, 2)}/${sha}`]
    assert.equal(paths, expected.sort(), running.output())
  } finally {
    await running.stop()
  }
})

test('a relay.sqlite left under --data (here not even a database) is neither read nor changed in cluster mode, and said so', async () => {
  const dataDir = newDir()
  const left = join(dataDir, 'relay.sqlite')
  writeFileSync(left, 'one machine\'s database, or what is left of it')
  const before = statSync(left)
  const { running } = await clusterRelay(dataDir, 'left_sqlite')
  await running.stop()
  assert.is(running.process.exitCode, 0, running.output())
  assert.ok(running.output().includes(`relay: cluster mode: ${left} is not used (everything is in PostgreSQL): it is neither read nor changed`), running.output())
  const after = statSync(left)
  assert.equal([after.size, after.mtimeMs, after.ino], [before.size, before.mtimeMs, before.ino], 'relay.sqlite untouched')
  assert.equal(pathsUnder(dataDir), ['images', 'images/.incoming', 'relay.sqlite'], running.output())
})

test('in cluster mode too, a full disk under --data (photos are received there) answers /healthz 503, and 200 once there is room', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and needs root (CI runs as root)')
  const mountPoint = newDir()
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint])
  const filler = join(mountPoint, 'filler')
  let running: RelayProcess | null = null
  try {
    running = (await clusterRelay(join(mountPoint, 'relay'), 'full_disk')).running
    assert.is((await fetch(`${running.url}/healthz`)).status, 200)
    fillFilesystem(filler)
    const full = await fetch(`${running.url}/healthz`)
    assert.is(full.status, 503)
    assert.match(String((await full.json() as { error: string }).error), /the disk under the data dir is full/)
    rmSync(filler)
    assert.is((await fetch(`${running.url}/healthz`)).status, 200)
  } finally {
    rmSync(filler, { force: true })
    await running?.stop()
    execFileSync('umount', [mountPoint])
  }
})

test('LABSYNC_TEST_ECHO_BEFORE_COMMIT is refused unless NODE_ENV=test', async () => {
  const run = await relay([], { LABSYNC_TEST_ECHO_BEFORE_COMMIT: '1', NODE_ENV: 'production' })
  assert.is(run.code, 2, run.stderr)
  assert.match(run.stderr.trim(), /^labsync: LABSYNC_TEST_ECHO_BEFORE_COMMIT acknowledges writes before they are stored: a test-only switch, refused unless NODE_ENV=test$/)
})

test.run()
