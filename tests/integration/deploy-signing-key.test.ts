// One signing key for every relay of a cluster (--signing-key, LABSYNC_SIGNING_KEY): relays
// started on it publish the same key in the catalog, so a session token made by relay A verifies
// against relay B's catalog (as a lab node checks it in store); without it each relay signs with
// its own. A missing, unreadable, too open or wrong file is refused with one line, exit 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, LABSYNC, removeDir, signUp, startRelay, synced, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { publicKeyOf, verifyToken } from '../../shared/signing.ts'

const dirs: string[] = []
const relays: RelayProcess[] = []
test.after(async () => {
  await Promise.all(relays.map((relay) => relay.stop()))
  dirs.forEach(removeDir)
})

function newDir(): string {
  const dir = tempDir('labsync-signing-key-')
  dirs.push(dir)
  return dir
}

/** A PEM private key of `type` in its own file with `mode`. */
function keyFile(type: 'ed25519' | 'rsa' = 'ed25519', mode = 0o600): string {
  const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ed25519')
  const file = join(newDir(), `${type}.pem`)
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode })
  chmodSync(file, mode)
  return file
}

async function relay(env: Record<string, string> = {}): Promise<RelayProcess> {
  const started = await startRelay({ dataDir: newDir(), env })
  relays.push(started)
  return started
}

/** The relay's public key as its catalog publishes it (what a lab node verifies tokens with). */
async function publishedKey(at: RelayProcess, token: string): Promise<unknown> {
  const c = connect(at, 'catalog', token)
  try {
    await synced(c.provider)
    return c.doc.getMap('catalog').get('relayKey')
  } finally {
    c.provider.destroy()
  }
}

/** Runs `labsync relay` with the extra arguments until it exits (it must not start). */
function refusedStart(extra: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const dataDir = join(newDir(), 'data')
  const child = spawn(process.execPath, [LABSYNC, 'relay', '--port', '0', '--data', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => child.once('close', (code) => {
    clearTimeout(timer)
    // Refused before the data dir was touched: no key of its own made there.
    assert.not.ok(existsSync(join(dataDir, 'relay-signing-key.pem')), 'a signing key was made under --data')
    resolve({ code, output })
  }))
}

test('two relays on one LABSYNC_SIGNING_KEY publish one key: a token from either verifies against the other\'s catalog', async () => {
  const file = keyFile()
  const [a, b] = await Promise.all([relay({ LABSYNC_SIGNING_KEY: file }), relay({ LABSYNC_SIGNING_KEY: file })])
  const [onA, onB] = await Promise.all([signUp(a.url), signUp(b.url)])
  const [keyA, keyB] = await Promise.all([publishedKey(a, onA.token), publishedKey(b, onB.token)])
  assert.equal(keyA, keyB)
  assert.ok(verifyToken(onA.token, publicKeyOf(keyB)!), 'relay A\'s token against relay B\'s key')
  assert.ok(verifyToken(onB.token, publicKeyOf(keyA)!), 'relay B\'s token against relay A\'s key')
  assert.not.ok(existsSync(join(a.dataDir, 'relay-signing-key.pem')), 'relay A made a key of its own')
})

test('without it each relay signs with its own key: relay A\'s token does not verify against relay B\'s', async () => {
  const [a, b] = await Promise.all([relay(), relay()])
  const [onA, onB] = await Promise.all([signUp(a.url), signUp(b.url)])
  const [keyA, keyB] = await Promise.all([publishedKey(a, onA.token), publishedKey(b, onB.token)])
  assert.not.equal(keyA, keyB)
  assert.ok(verifyToken(onA.token, publicKeyOf(keyA)!))
  assert.is(verifyToken(onA.token, publicKeyOf(keyB)!), null)
})

test('a missing, too open, non-key or non-Ed25519 --signing-key: one line naming it, exit 2', async () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--signing-key', '/nonexistent/key.pem'], {}, /^labsync: --signing-key "\/nonexistent\/key\.pem" cannot be read \(ENOENT\)$/],
    [[], { LABSYNC_SIGNING_KEY: '/nonexistent/key.pem' }, /^labsync: LABSYNC_SIGNING_KEY "\/nonexistent\/key\.pem" cannot be read \(ENOENT\)$/],
    [['--signing-key', keyFile('ed25519', 0o644)], {}, /^labsync: --signing-key ".*ed25519\.pem" is readable by others \(mode 0644\): chmod 600 it$/],
    [['--signing-key', keyFile('ed25519', 0o640)], {}, /is readable by others \(mode 0640\)/],
    [['--signing-key', keyFile('rsa')], {}, /^labsync: --signing-key ".*rsa\.pem" is not a PEM Ed25519 private key \(the signing key is not an Ed25519 key\)$/],
  ]
  const garbage = join(newDir(), 'garbage.pem')
  writeFileSync(garbage, 'not a key\n', { mode: 0o600 })
  cases.push([['--signing-key', garbage], {}, /^labsync: --signing-key ".*garbage\.pem" is not a PEM Ed25519 private key \(.+\)$/])
  for (const [args, env, expected] of cases) {
    const { code, output } = await refusedStart(args, env)
    assert.is(code, 2, output)
    assert.is(output.trim().split('\n').length, 1, output)
    assert.match(output.trim(), expected)
  }
})

test.run()
