// Lab presence (issue 15 point 7), with real processes: the admin's labs listing shows a running
// lab online with a recent last seen, its printer's state and the media it holds (JSON, CSV and
// `labsync admin labs`); a lab killed turns offline after three heartbeat intervals; a restarted
// relay still knows when the lab was last seen; a heartbeat over the shared bounds is refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolve } from 'node:path'
import { removeDir, startRelay, tempDir, type RelayProcess } from '../helpers/relay.ts'
import { startLab, type LabProcess } from '../helpers/lab.ts'
import { ADMIN_TOKEN, CONFIG, LAB_KEYS } from '../helpers/admin.ts'
import { FilePrinter } from '../../lab-node/printers/file.ts'
import { runAdmin } from '../../admin/cli.ts'
import { MAX_MEDIA } from '../../shared/presence.ts'

/** The lab node runs with --history-interval 1, so it beats every second and is offline 3 s after its last word. */
const INTERVAL_S = 1

interface LabRow { id: string; online: boolean; lastSeen: string | null; printers: { uri: string; state: string; reasons: string[]; media: string[] }[] }

/** What a file printer in `dir` lists, as the lab node asks it. */
const mediaOf = async (dir: string) => (await new FilePrinter(dir).describe()).media

async function labRows(relay: RelayProcess): Promise<Map<string, LabRow>> {
  const res = await fetch(`${relay.url}/api/admin/labs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  assert.is(res.status, 200)
  const { rows } = (await res.json()) as { rows: LabRow[] }
  return new Map(rows.map((row) => [row.id, row]))
}

/** Asks again every 50 ms until `check` answers something truthy (the listing is an HTTP call). */
async function waitFor<T>(check: () => Promise<T | null | undefined | false | 0>, what: string, timeoutMs: number): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function withLab(run: (relay: RelayProcess, lab: LabProcess, prints: string) => Promise<RelayProcess | void>): Promise<void> {
  let relay = await startRelay({ config: CONFIG })
  const prints = tempDir('labsync-presence-prints-')
  const lab = await startLab({ relayUrl: relay.url, lab: 'lab-1', key: LAB_KEYS['lab-1'], printer: `file:${prints}`, historyIntervalSeconds: INTERVAL_S })
  try {
    relay = (await run(relay, lab, prints)) ?? relay
  } finally {
    await lab.kill()
    await relay.kill()
    removeDir(lab.dataDir)
    removeDir(prints)
    removeDir(relay.dataDir)
  }
}

test('a running lab is online, seen within its interval, with its printer idle; a lab never heard from is not', () => withLab(async (relay, _lab, prints) => {
  const row = await waitFor(async () => {
    const lab1 = (await labRows(relay)).get('lab-1')!
    return lab1.printers?.length ? lab1 : null
  }, 'lab-1 reporting its printer', 10_000)
  assert.is(row.online, true)
  const age = Date.now() - Date.parse(row.lastSeen!)
  assert.ok(age >= 0 && age <= 3 * INTERVAL_S * 1000, `last seen ${age} ms ago`)
  assert.equal(row.printers, [{ uri: `file:${resolve(prints)}`, state: 'idle', reasons: [], media: await mediaOf(prints) }])
  const lab2 = (await labRows(relay)).get('lab-2')!
  assert.is(lab2.online, false)
  assert.is(lab2.lastSeen, null)
  assert.equal(lab2.printers, [])
}))

test('the media each printer holds reaches the admin: the labs CSV and `labsync admin labs` show it', () => withLab(async (relay, _lab, prints) => {
  const media = await mediaOf(prints)
  assert.ok(media.length >= 2, 'the file printer lists sizes')
  await waitFor(async () => (await labRows(relay)).get('lab-1')!.printers[0]?.media.length, 'lab-1 reporting its media', 10_000)
  const csv = await (await fetch(`${relay.url}/api/admin/labs?format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text()
  const [header, lab1] = csv.split('\r\n')
  assert.match(header, /,printers,media$/)
  assert.ok(lab1.endsWith(`,file:${resolve(prints)}: ${media.join(' ')}`), lab1)
  let out = ''
  const code = await runAdmin(['labs', '--relay', relay.url, '--token', ADMIN_TOKEN], { out: (text) => { out += String(text) }, err: () => {} })
  assert.is(code, 0)
  const line = out.split('\n').find((l) => l.startsWith('lab-1'))!
  assert.ok(line.endsWith(`file:${resolve(prints)} idle [${media.join(' ')}]`), line)
}))

test('a heartbeat over the shared bounds is refused naming media, and the lab\'s last report stands', () => withLab(async (relay, _lab, prints) => {
  await waitFor(async () => (await labRows(relay)).get('lab-1')!.printers[0]?.media.length, 'lab-1 reporting its media', 10_000)
  const beat = (media: string[]) => fetch(`${relay.url}/api/labs/presence`, {
    method: 'POST',
    headers: { authorization: `Bearer ${LAB_KEYS['lab-1']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ intervalMs: 60_000, printers: [{ uri: 'file:/elsewhere', state: 'idle', reasons: [], media }] }),
  })
  const refused = await beat(Array.from({ length: MAX_MEDIA + 1 }, (_, i) => `custom_${i}_1x1in`))
  assert.is(refused.status, 400)
  assert.match(((await refused.json()) as { error: string }).error, /media/)
  assert.equal((await labRows(relay)).get('lab-1')!.printers.map((p) => p.uri), [`file:${resolve(prints)}`])
}))

test('a lab killed turns offline after three heartbeat intervals, its last seen kept', () => withLab(async (relay, lab) => {
  // Its first heartbeat, not only its socket: the interval it keeps comes with the heartbeat.
  await waitFor(async () => (await labRows(relay)).get('lab-1')!.printers?.length, 'lab-1 reporting', 10_000)
  await lab.kill()
  const killedAt = Date.now()
  const row = await waitFor(async () => {
    const lab1 = (await labRows(relay)).get('lab-1')!
    return lab1.online ? null : lab1
  }, 'lab-1 offline', 10_000)
  const after = Date.now() - killedAt
  assert.ok(after >= 2 * INTERVAL_S * 1000 && after <= 6 * INTERVAL_S * 1000, `offline ${after} ms after the kill`)
  assert.ok(Math.abs(Date.parse(row.lastSeen!) - killedAt) <= 1_500, `last seen ${row.lastSeen}, killed at ${new Date(killedAt).toISOString()}`)
  assert.is(row.printers.length, 1, 'the printers it last reported are still shown')
}))

test('after a relay restart the lab\'s last seen and printers are still known', () => withLab(async (relay, lab) => {
  await waitFor(async () => (await labRows(relay)).get('lab-1')!.printers?.length, 'lab-1 reporting', 10_000)
  await lab.kill()
  // The lab's socket closing is written at once, so this is what the database holds.
  const before = await waitFor(async () => {
    const lab1 = (await labRows(relay)).get('lab-1')!
    return lab1.online ? null : lab1
  }, 'lab-1 offline', 10_000)
  await relay.kill()
  const restarted = await relay.restart()
  const after = (await labRows(restarted)).get('lab-1')!
  assert.equal(after, before)
  return restarted
}))

test.run()
