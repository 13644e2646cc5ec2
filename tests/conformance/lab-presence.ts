// The acceptance suite LabPresences runs on every PresenceRows (relay/store/lab-presence.ts): online
// within three heartbeat intervals, last seen kept across a reopen (a relay restart), writes
// throttled but printers' changes and sockets written at once, nothing written after close.
import * as assert from 'uvu/assert'
import { LabPresences, DEFAULT_INTERVAL_MS } from '../../relay/store/lab-presence.ts'
import { labSuite, type LabTables, type LabTablesConnection } from './lab-tables.ts'

const PRINTER = { uri: 'file:/tmp/out', state: 'idle', reasons: [] }
const START = 1_000_000

type Body = (t: { open: () => Promise<LabTablesConnection>; clock: { t: number } }) => Promise<void>

export function runLabPresenceTests(name: string, setup: () => LabTables, after?: () => Promise<void>): void {
  const suite = labSuite(`LabPresences: ${name}`, setup, after)
  const it = (title: string, body: Body) => suite.it(title, (open) => body({ open, clock: { t: START } }))
  answers(it)
  writes(it)
  suite.run()
}

/** What of() answers [LP1]-[LP3]. */
function answers(it: (title: string, body: Body) => void): void {
  it('[LP1] a lab never heard from has no presence', async ({ open }) => {
    const c = await open()
    assert.is(await new LabPresences(c.presenceRows).of('lab-1'), null)
  })

  it('[LP2] a lab is online until three of its heartbeat intervals pass without a word', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t)
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 3_000
    assert.equal(await presences.of('lab-1'), { lastSeen: START, online: true, intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 1
    assert.is((await presences.of('lab-1'))!.online, false)
  })

  it('[LP3] a restarted relay still knows when a lab was last seen, its interval and its printers', async ({ open, clock }) => {
    const first = await open()
    await new LabPresences(first.presenceRows, () => clock.t).heartbeat('lab-1', { intervalMs: 2_000, printers: [PRINTER] })
    await first.close()
    const again = await open()
    clock.t += 500
    assert.equal(await new LabPresences(again.presenceRows, () => clock.t).of('lab-1'), { lastSeen: START, online: true, intervalMs: 2_000, printers: [PRINTER] })
  })
}

/** What is written, and when [LP4]-[LP11]. */
function writes(it: (title: string, body: Body) => void): void {
  it('[LP4] heartbeats write last_seen at most every few seconds; the answer is current all the same', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t, 5_000)
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 1_000
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    assert.is((await c.presenceRow('lab-1'))!.last_seen, START, 'the second beat is not written')
    assert.is((await presences.of('lab-1'))!.lastSeen, START + 1_000)
    clock.t += 4_000
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    assert.is((await c.presenceRow('lab-1'))!.last_seen, START + 5_000, 'five seconds after the last write, written')
  })

  it('[LP5] a printer changing state is written at once', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t, 5_000)
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 100
    const stopped = { ...PRINTER, state: 'stopped', reasons: ['media-empty-error'] }
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [stopped] })
    assert.equal(await c.presenceRow('lab-1'), { last_seen: START + 100, interval_ms: 1_000, printers: [stopped] })
  })

  it('[LP6] each printer\'s media is kept across a reopen, and a change of media is written at once', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t, 5_000)
    const holding = { ...PRINTER, media: ['na_index-4x6_4x6in', 'oe_photo-l_3.5x5in'] }
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [holding] })
    clock.t += 100
    const refilled = { ...PRINTER, media: ['na_5x7_5x7in'] }
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [refilled] })
    assert.equal((await c.presenceRow('lab-1'))!.printers, [refilled], 'written within the throttle: the media changed')
    await c.close()
    const again = await open()
    assert.equal((await new LabPresences(again.presenceRows, () => clock.t).of('lab-1'))!.printers, [refilled])
  })

  it('[LP7] the sync socket opening or closing is written at once and keeps the known interval and printers', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t, 5_000)
    await presences.connection('lab-2')
    assert.equal(await c.presenceRow('lab-2'), { last_seen: START, interval_ms: DEFAULT_INTERVAL_MS, printers: [] })
    await presences.heartbeat('lab-2', { intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 200
    await presences.connection('lab-2')
    assert.equal(await c.presenceRow('lab-2'), { last_seen: START + 200, interval_ms: 1_000, printers: [PRINTER] })
  })

  it('[LP8] flush writes what the throttle held back', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t, 5_000)
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    clock.t += 1_000
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [PRINTER] })
    await presences.flush()
    assert.is((await c.presenceRow('lab-1'))!.last_seen, START + 1_000)
  })

  it('[LP9] after close a socket closing late writes nothing (the relay has closed its database by then)', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t)
    void presences.connection('lab-1')
    clock.t += 1_000
    void presences.connection('lab-1')
    await presences.close()
    assert.is((await c.presenceRow('lab-1'))?.last_seen, clock.t, 'what was heard before close was written at close')
    await c.close()
    await presences.connection('lab-1') // threw "The database connection is not open" and took the relay down
  })

  it('[LP10] a late write never takes last_seen back, nor replaces the printers of a later sighting', async ({ open, clock }) => {
    const c = await open()
    const stopped = { ...PRINTER, state: 'stopped', reasons: ['media-empty-error'] }
    await c.presenceRows.put('lab-1', { lastSeen: START + 1_000, intervalMs: 2_000, printers: [stopped] })
    await c.presenceRows.put('lab-1', { lastSeen: START, intervalMs: 1_000, printers: [PRINTER] })
    await c.presenceRows.touch('lab-1', START - 1)
    assert.equal(await c.presenceRow('lab-1'), { last_seen: START + 1_000, interval_ms: 2_000, printers: [stopped] })
    clock.t = START + 2_000
    await c.presenceRows.touch('lab-1', clock.t)
    assert.equal(await c.presenceRow('lab-1'), { last_seen: START + 2_000, interval_ms: 2_000, printers: [stopped] }, 'a touch moves last_seen only')
  })

  it('[LP11] a heartbeat whose texts hold NUL or a lone surrogate is kept, never refused', async ({ open, clock }) => {
    const c = await open()
    const presences = new LabPresences(c.presenceRows, () => clock.t)
    const odd = { uri: 'ipp://odd\u0000/ipp/print', state: 'idle\uD800', reasons: ['x\u0000y'] }
    await presences.heartbeat('lab-1', { intervalMs: 1_000, printers: [odd] })
    assert.is((await c.presenceRow('lab-1'))?.last_seen, START)
    assert.is((await presences.of('lab-1'))?.online, true)
  })
}
