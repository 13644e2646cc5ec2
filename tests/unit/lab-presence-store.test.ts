// relay/store/lab-presence.ts against a real SQLite file: online within three heartbeat
// intervals, last seen kept across a reopen (a relay restart), writes throttled.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { LabPresences, DEFAULT_INTERVAL_MS } from '../../relay/store/lab-presence.ts'
import { removeDir, tempDir } from '../helpers/relay.ts'

const PRINTER = { uri: 'file:/tmp/out', state: 'idle', reasons: [] }

function setup(): { dir: string; open: () => DB; clock: { t: number } } {
  const dir = tempDir('labsync-presence-')
  return { dir, open: () => openDatabase(join(dir, 'relay.sqlite'), RELAY_MIGRATIONS), clock: { t: 1_000_000 } }
}

const stored = (db: DB, lab: string) => db.prepare('SELECT last_seen, interval_ms, printers FROM lab_presence WHERE lab = ?').get(lab) as
  { last_seen: number; interval_ms: number; printers: string } | undefined

test('a lab never heard from has no presence', () => {
  const { dir, open } = setup()
  const db = open()
  assert.is(new LabPresences(db).of('lab-1'), null)
  db.close()
  removeDir(dir)
})

test('a lab is online until three of its heartbeat intervals pass without a word', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t)
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 3_000
  assert.equal(presences.of('lab-1'), { lastSeen: 1_000_000, online: true, intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 1
  assert.is(presences.of('lab-1')!.online, false)
  db.close()
  removeDir(dir)
})

test('a restarted relay still knows when a lab was last seen, its interval and its printers', () => {
  const { dir, open, clock } = setup()
  let db = open()
  new LabPresences(db, () => clock.t).heartbeat('lab-1', { intervalMs: 2_000, printers: [PRINTER] })
  db.close()
  db = open()
  clock.t += 500
  assert.equal(new LabPresences(db, () => clock.t).of('lab-1'), { lastSeen: 1_000_000, online: true, intervalMs: 2_000, printers: [PRINTER] })
  db.close()
  removeDir(dir)
})

test('heartbeats write last_seen at most every few seconds; the answer is current all the same', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t, 5_000)
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 1_000
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  assert.is(stored(db, 'lab-1')!.last_seen, 1_000_000, 'the second beat is not written')
  assert.is(presences.of('lab-1')!.lastSeen, 1_001_000)
  clock.t += 4_000
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  assert.is(stored(db, 'lab-1')!.last_seen, 1_005_000, 'five seconds after the last write, written')
  db.close()
  removeDir(dir)
})

test('a printer changing state is written at once', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t, 5_000)
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 100
  const stopped = { ...PRINTER, state: 'stopped', reasons: ['media-empty-error'] }
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [stopped] })
  assert.equal(stored(db, 'lab-1'), { last_seen: 1_000_100, interval_ms: 1_000, printers: JSON.stringify([stopped]) })
  db.close()
  removeDir(dir)
})

test('each printer\'s media is kept across a reopen, and a change of media is written at once', () => {
  const { dir, open, clock } = setup()
  let db = open()
  const presences = new LabPresences(db, () => clock.t, 5_000)
  const holding = { ...PRINTER, media: ['na_index-4x6_4x6in', 'oe_photo-l_3.5x5in'] }
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [holding] })
  clock.t += 100
  const refilled = { ...PRINTER, media: ['na_5x7_5x7in'] }
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [refilled] })
  assert.is(stored(db, 'lab-1')!.printers, JSON.stringify([refilled]), 'written within the throttle: the media changed')
  db.close()
  db = open()
  assert.equal(new LabPresences(db, () => clock.t).of('lab-1')!.printers, [refilled])
  db.close()
  removeDir(dir)
})

test('the sync socket opening or closing is written at once and keeps the known interval and printers', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t, 5_000)
  presences.connection('lab-2')
  assert.equal(stored(db, 'lab-2'), { last_seen: 1_000_000, interval_ms: DEFAULT_INTERVAL_MS, printers: '[]' })
  presences.heartbeat('lab-2', { intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 200
  presences.connection('lab-2')
  assert.equal(stored(db, 'lab-2'), { last_seen: 1_000_200, interval_ms: 1_000, printers: JSON.stringify([PRINTER]) })
  db.close()
  removeDir(dir)
})

test('flush writes what the throttle held back', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t, 5_000)
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  clock.t += 1_000
  presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
  presences.flush()
  assert.is(stored(db, 'lab-1')!.last_seen, 1_001_000)
  db.close()
  removeDir(dir)
})

test('after close a socket closing late writes nothing (the relay has closed its database by then)', () => {
  const { dir, open, clock } = setup()
  const db = open()
  const presences = new LabPresences(db, () => clock.t)
  presences.connection('lab-1')
  clock.t += 1_000
  presences.connection('lab-1')
  presences.close()
  assert.is(stored(db, 'lab-1')?.last_seen, clock.t, 'what the throttle held back was written at close')
  db.close()
  presences.connection('lab-1') // threw "The database connection is not open" and took the relay down
  removeDir(dir)
})

test.run()
