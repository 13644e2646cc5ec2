// Start-up checks, as real `bin/labsync relay` processes on real data dirs: a lost database in a
// data dir a relay used before (signing key, photos) is refused unless --fresh; a file that is not
// a database, or is damaged, is refused with a clear message; normal restarts (clean or after
// SIGKILL) and first starts still start.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, cpSync, existsSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { LABSYNC, removeDir, signUp, startRelay, tempDir } from '../helpers/relay.ts'
import { CLEAN_MARKER } from '../../relay/store/preflight.ts'

const dirs: string[] = []
test.after(() => dirs.forEach(removeDir))
function newDir(): string {
  const dir = tempDir('labsync-startup-test-')
  dirs.push(dir)
  return dir
}

interface Outcome { code: number | null; output: string; listening: boolean }

/** Runs `labsync relay` on the data dir until it listens (then stops it with SIGTERM) or exits. */
function relayOnce(dataDir: string, ...extra: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, [LABSYNC, 'relay', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let listening = false
  const collect = (chunk: Buffer) => {
    output += chunk
    if (!listening && /relay listening on http:\/\/127\.0\.0\.1:\d+/.test(output)) {
      listening = true
      child.kill('SIGTERM')
    }
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => child.once('close', (code) => {
    clearTimeout(timer)
    resolve({ code, output, listening })
  }))
}

/** A data dir a relay has used: an account made, a photo stored, stopped cleanly. Made once, copied per test. */
let used: { dir: string; email: string } | null = null
async function usedDir(): Promise<string> {
  if (!used) {
    const dir = newDir()
    const relay = await startRelay({ dataDir: dir })
    try {
      const me = await signUp(relay.url)
      const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3060c0' } }).jpeg().toBuffer()
      const hash = createHash('sha256').update(jpeg).digest('hex')
      const res = await fetch(`${relay.url}/api/images/${hash}`, { method: 'PUT', headers: { authorization: `Bearer ${me.token}` }, body: jpeg })
      assert.is(res.status, 201, await res.text())
      used = { dir, email: me.email }
    } finally {
      await relay.stop()
    }
  }
  const copy = newDir()
  cpSync(used.dir, copy, { recursive: true, preserveTimestamps: true })
  return copy
}

const db = (dir: string) => join(dir, 'relay.sqlite')

function removeDatabase(dir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(db(dir) + suffix, { force: true })
}

/** Exit 2 with one line on stderr naming the file, and no relay listening. */
function assertRefused(outcome: Outcome, message: RegExp): void {
  assert.is(outcome.listening, false, outcome.output)
  assert.is(outcome.code, 2, outcome.output)
  const line = outcome.output.trim().split('\n').at(-1)!
  assert.match(line, /^labsync: \S*relay\.sqlite /)
  assert.match(line, message)
}

test('a data dir with only config.json is a first start; a clean restart starts without the integrity check', async () => {
  const dir = newDir()
  writeFileSync(join(dir, 'config.json'), '{}')
  const first = await relayOnce(dir)
  assert.ok(first.listening, first.output)
  assert.is(first.code, 0, first.output)
  assert.ok(existsSync(join(dir, CLEAN_MARKER)), 'a clean shutdown leaves its marker')
  const again = await relayOnce(dir)
  assert.ok(again.listening, again.output)
  assert.not.match(again.output, /quick_check/)
})

test('a data dir that does not exist yet is a first start', async () => {
  const dir = join(newDir(), 'not', 'yet')
  const first = await relayOnce(dir)
  assert.ok(first.listening, first.output)
  assert.ok(existsSync(join(dir, CLEAN_MARKER)))
})

test('a used data dir restarts after SIGKILL, checked, with its accounts', async () => {
  const dir = await usedDir()
  const relay = await startRelay({ dataDir: dir })
  const me = await signUp(relay.url)
  await relay.kill()
  assert.not.ok(existsSync(join(dir, CLEAN_MARKER)), 'no marker while running or after a crash')
  const restarted = await startRelay({ dataDir: dir })
  try {
    assert.match(restarted.output(), /relay\.sqlite checked \(PRAGMA quick_check: ok, \d+ ms/)
    const res = await fetch(`${restarted.url}/api/sessions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: me.email, password: 'correct horse battery' }),
    })
    assert.is(res.status, 200, 'the account made before the crash signs in')
  } finally {
    await restarted.stop()
  }
})

test('relay.sqlite missing after a crash, beside the signing key and its write-ahead log: exit 2 naming the problem and --fresh; --fresh starts, the log kept aside unreplayed', async () => {
  const dir = await usedDir()
  const relay = await startRelay({ dataDir: dir })
  await signUp(relay.url)
  await relay.kill()
  assert.ok(statSync(`${db(dir)}-wal`).size > 0)
  rmSync(db(dir))
  const refused = await relayOnce(dir)
  assertRefused(refused, /relay\.sqlite is missing, but .* was used by a relay before \(relay-signing-key\.pem, .*relay\.sqlite-wal\): restore the database from a backup, or start with --fresh .*restores nothing/)
  assert.not.ok(existsSync(db(dir)), 'no new empty database made')

  const fresh = await relayOnce(dir, '--fresh')
  assert.ok(fresh.listening, fresh.output)
  assert.match(fresh.output, /--fresh: starting with an empty database .*nothing is restored/)
  assert.is(readdirSync(dir).filter((name) => /^relay\.sqlite-wal\.before-fresh-\d+$/.test(name)).length, 1)
  const after = await relayOnce(dir)
  assert.ok(after.listening, `after --fresh the new database is the relay's own: ${after.output}`)
})

test('relay.sqlite missing beside stored photos only (no signing key): refused', async () => {
  const dir = await usedDir()
  removeDatabase(dir)
  rmSync(join(dir, 'relay-signing-key.pem'))
  rmSync(join(dir, CLEAN_MARKER), { force: true })
  assertRefused(await relayOnce(dir), /is missing, but .*\(stored photos in images\/\)/)
})

test('an emptied relay.sqlite (0 bytes, or a database with no tables) beside the signing key: refused', async () => {
  const dir = await usedDir()
  removeDatabase(dir)
  writeFileSync(db(dir), '')
  assertRefused(await relayOnce(dir), /relay\.sqlite is empty \(0 bytes\), but .*--fresh/)
  new Database(db(dir)).exec('VACUUM') // a valid SQLite file without a single table
  assertRefused(await relayOnce(dir), /relay\.sqlite holds no documents or receptions, but .*--fresh/)
})

test('a zero-filled or garbage relay.sqlite: exit 2, not a SQLite database', async () => {
  const dir = await usedDir()
  removeDatabase(dir)
  writeFileSync(db(dir), Buffer.alloc(256 * 1024))
  assertRefused(await relayOnce(dir), /is not a SQLite database .*restore it from a backup/)
  writeFileSync(db(dir), randomBytes(256 * 1024))
  assertRefused(await relayOnce(dir), /is not a SQLite database .*restore it from a backup/)
  // --fresh does not throw a file away: it only starts where there is nothing.
  assertRefused(await relayOnce(dir, '--fresh'), /is not a SQLite database/)
})

test('a relay.sqlite damaged mid-file: exit 2, damaged, with what to do', async () => {
  const dir = await usedDir()
  // Enough stored rows that the middle of the file is table and index pages.
  const writer = new Database(db(dir))
  const insert = writer.prepare('INSERT INTO doc_updates (doc, data) VALUES (?, ?)')
  writer.transaction(() => { for (let i = 0; i < 4000; i++) insert.run(`order/filler-${i}`, randomBytes(300)) })()
  writer.pragma('wal_checkpoint(TRUNCATE)')
  writer.close()

  const size = statSync(db(dir)).size
  assert.ok(size > 1024 * 1024, `${size} bytes`)
  const fd = openSync(db(dir), 'r+')
  try {
    writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, Math.floor(size / 2 / 4096) * 4096)
  } finally {
    closeSync(fd)
  }
  const outcome = await relayOnce(dir)
  assertRefused(outcome, /relay\.sqlite is damaged \(.+\); the relay does not start on it: restore it from a backup, or salvage .*sqlite3 \S+ \.recover/)
})

test('labsync relay --help names --fresh', async () => {
  const child = spawn(process.execPath, [LABSYNC, 'relay', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const code = await new Promise((resolve) => child.once('close', resolve))
  assert.is(code, 0, output)
  assert.match(output, /--fresh\s+start although relay\.sqlite is missing or empty/)
})

test.run()
