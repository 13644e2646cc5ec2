// LABSYNC_WEB_DIR, which the cluster's https test starts its relays with: the relay serves the
// built app from that folder (not ./dist), and a folder without index.html is refused at start
// with one line, exit 2, rather than a relay that answers every page "not built".
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LABSYNC, removeDir, startRelay, tempDir } from '../helpers/relay.ts'

const dirs: string[] = []
test.after(() => dirs.forEach(removeDir))
const newDir = () => { const dir = tempDir('labsync-web-dir-'); dirs.push(dir); return dir }

test('the relay serves the app from LABSYNC_WEB_DIR, its client-side routes included', async () => {
  const web = newDir()
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>from LABSYNC_WEB_DIR</title>')
  const relay = await startRelay({ dataDir: newDir(), env: { LABSYNC_WEB_DIR: web } })
  try {
    for (const path of ['/', '/orders/o1']) {
      const res = await fetch(`${relay.url}${path}`)
      assert.is(res.status, 200)
      assert.match(await res.text(), 'from LABSYNC_WEB_DIR')
    }
  } finally {
    await relay.stop()
  }
})

test('a LABSYNC_WEB_DIR without index.html is refused at start: one line, exit 2', async () => {
  const web = newDir()
  mkdirSync(join(web, 'assets'))
  const child = spawn(process.execPath, [LABSYNC, 'relay', '--port', '0', '--data', newDir()], { env: { ...process.env, LABSYNC_WEB_DIR: web }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.stdout.on('data', (chunk) => (stdout += chunk))
  // A relay that started anyway is stopped, so the test fails instead of hanging.
  const started = setInterval(() => { if (/relay listening on/.test(stdout)) child.kill('SIGKILL') }, 50)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearInterval(started)
  assert.is(code, 2, stderr)
  assert.match(stderr, `LABSYNC_WEB_DIR: ${web} holds no index.html`)
  assert.is(stderr.trim().split('\n').length, 1, stderr)
})

test.run()
