// lab-node/presence.ts with a real file printer, reporting to a loopback HTTP server that keeps
// what it was sent: a report at once, one per interval when nothing changes, a change at the next check.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { startPresence, presenceIntervalMs, withoutCredentials, type PresenceReport } from '../../lab-node/presence.ts'
import { removeDir, tempDir, waitFor } from '../helpers/relay.ts'

interface Heard { at: number; auth: string | undefined; report: PresenceReport }

async function relayStandIn(status = 204): Promise<{ url: string; heard: Heard[]; server: Server }> {
  const heard: Heard[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      if (req.url === '/api/labs/presence' && req.method === 'POST') heard.push({ at: Date.now(), auth: req.headers.authorization, report: JSON.parse(body) })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, heard, server }
}

const target = (url: string) => ({ relayUrl: url, labId: 'lab-1', key: 'lab-1-secret' })

/** A stand-in relay, a file printer and a reporter, all closed whatever the test's outcome. */
async function withReporter(options: { status?: number; intervalMs: number; checkMs?: number; log?: (line: string) => void },
  run: (relay: { heard: Heard[] }, printer: FilePrinter, dir: string) => Promise<void>): Promise<void> {
  const relay = await relayStandIn(options.status)
  const dir = tempDir('labsync-presence-node-')
  const printer = new FilePrinter(join(dir, 'out'))
  const presence = startPresence(target(relay.url), [printer], { intervalMs: options.intervalMs, checkMs: options.checkMs, log: options.log ?? (() => {}) })
  try {
    await run(relay, printer, dir)
  } finally {
    presence.stop()
    await printer.close()
    relay.server.closeAllConnections()
    await new Promise((resolve) => relay.server.close(resolve))
    removeDir(dir)
  }
}

test('the lab reports at once: its interval and each printer state, with its key', () => withReporter({ intervalMs: 60_000 }, async (relay, printer) => {
  const first = await waitFor(() => relay.heard[0], 'a first report')
  // media (what the printer holds, issue 15 point 3) is additive: the same uri, state and reasons as before.
  assert.equal(first.report, { intervalMs: 60_000, printers: [{ uri: printer.uri, state: 'idle', reasons: [], media: (await printer.describe()).media }] })
  assert.is(first.auth, 'Bearer lab-1-secret')
}))

test('with nothing changing, the lab reports once per interval, not at every check', () => withReporter({ intervalMs: 300, checkMs: 20 }, async (relay) => {
  await waitFor(() => relay.heard.length >= 4, 'four reports')
  const gaps = relay.heard.slice(1, 4).map((h, i) => h.at - relay.heard[i].at)
  assert.ok(gaps.every((gap) => gap >= 290), `gaps ${gaps.join(', ')} ms`)
}))

test('a printer that changes is reported at the next check, without waiting for the interval', () => withReporter({ intervalMs: 60_000, checkMs: 20 }, async (relay, _printer, dir) => {
  await waitFor(() => relay.heard[0], 'a first report')
  // The printer's folder becomes a file: the printer can no longer be asked.
  rmSync(join(dir, 'out'), { recursive: true })
  writeFileSync(join(dir, 'out'), 'not a folder')
  const changed = await waitFor(() => relay.heard[1], 'the change reported', 2_000)
  assert.is(changed.report.printers[0].state, 'unreachable')
}))

test('a relay that refuses is told again at the next check, and the failure logged once', async () => {
  const lines: string[] = []
  await withReporter({ status: 503, intervalMs: 60_000, checkMs: 20, log: (line) => lines.push(line) }, async (relay) => {
    await waitFor(() => relay.heard.length >= 3, 'three tries')
  })
  assert.is(lines.length, 1, lines.join('\n'))
  assert.match(lines[0], /HTTP 503/)
})

test('the heartbeat is 10 s, or the history interval when shorter', () => {
  assert.is(presenceIntervalMs(60), 10_000)
  assert.is(presenceIntervalMs(1), 1_000)
  assert.is(presenceIntervalMs(0.001), 100)
})

test('a printer URI is reported without its user and password', () => {
  assert.is(withoutCredentials('ipp://op:secret@10.0.0.5:631/ipp/print'), 'ipp://10.0.0.5:631/ipp/print')
  assert.is(withoutCredentials('file:/srv/prints'), 'file:/srv/prints')
})

test.run()
