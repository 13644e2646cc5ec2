// The operator console as `bin/labsync lab --console H:P --operator-token T` serves it: a real
// relay and a real lab process. (lab-console.test.ts drives the console's parts in-process.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { LABSYNC, removeDir, startRelay, tempDir } from '../helpers/relay.ts'
import { ONE_LAB_CONFIG, startLab } from '../helpers/lab.ts'

const TOKEN = 'operator-secret-1'
const cleanups: Array<() => Promise<void> | void> = []
test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

test('labsync lab --console serves the console API behind the operator token, and never logs the token', async () => {
  const relay = await startRelay({ config: ONE_LAB_CONFIG })
  cleanups.push(async () => { await relay.stop(); removeDir(relay.dataDir) })
  const prints = tempDir('labsync-console-prints-')
  cleanups.push(() => removeDir(prints))
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: 'lab-1-secret', printer: `file:${prints}`, console: '127.0.0.1:0', operatorToken: TOKEN })
  cleanups.push(async () => { await lab.stop(); removeDir(lab.dataDir) })
  const [, url] = await lab.waitForOutput(/operator console at (http:\/\/\S+?)\/? /)
  assert.is((await fetch(`${url}/api/queue`)).status, 401, 'no token')
  assert.is((await fetch(`${url}/api/queue`, { headers: { authorization: 'Bearer wrong-token-1' } })).status, 401, 'a wrong token')
  const answer = await fetch(`${url}/api/queue`, { headers: { authorization: `Bearer ${TOKEN}` } })
  assert.is(answer.status, 200)
  assert.ok(Array.isArray(((await answer.json()) as { orders: unknown[] }).orders))
  const printers = (await (await fetch(`${url}/api/printers`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { printers: Array<{ uri: string }> }
  assert.equal(printers.printers.map((p) => p.uri), [`file:${prints}`])
  assert.not.match(lab.output(), TOKEN)
})

test('--console without an operator token, or with a short one, is one line and exit 2', () => {
  const base = [LABSYNC, 'lab', '--relay', 'http://127.0.0.1:9', '--lab', 'lab-1', '--key', 'k', '--printer', 'file:/tmp', '--console', '127.0.0.1:0']
  const env = { ...process.env, LABSYNC_OPERATOR_TOKEN: '' }
  for (const [args, pattern] of [[base, /--console needs --operator-token/], [[...base, '--operator-token', 'short'], /at least 8 characters/]] as const) {
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 20_000 })
    assert.is(run.status, 2, run.stderr)
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr)
    assert.match(run.stderr, pattern)
  }
})

test.run()
