// The acceptance suite every HistoryStore runs (relay/store/history.ts): each entry stored once per
// id whatever is resent, through whichever connection (a restarted relay, or another relay of a
// cluster); customer and store taken from the order's reception; a reprint kept with its reason.
import * as assert from 'uvu/assert'
import { MAX_REPRINT_REASON } from '../../shared/audit.ts'
import type { ReportedEntry } from '../../relay/store/history.ts'
import { pgText } from '../../relay/store/pg-text.ts'
import { labSuite, type LabTables, type StoredHistory } from './lab-tables.ts'

const PRINTED = '2026-05-01T09:00:00.000Z'
const RECEIVED = new Date('2026-05-01T09:05:00.000Z')

export function entry(id: string, fields: Partial<ReportedEntry> = {}): ReportedEntry {
  return { id, order: 'o1', item: 0, printer: 'ipp://127.0.0.1:8631/ipp/print', job: 7, copies: 2, status: 'completed', printedAt: PRINTED, ...fields }
}

/** The row record() makes of `e` for lab-1 received at RECEIVED, with the reception's user and front. */
function row(e: ReportedEntry, user: string | null, front: string | null): StoredHistory {
  return {
    id: e.id, lab: 'lab-1', order_id: e.order, item: e.item, printer: e.printer, job: String(e.job), copies: e.copies, status: e.status,
    printed_at: Date.parse(e.printedAt), received_at: RECEIVED.getTime(), user_id: user, front, reprint: false, reason: null,
  }
}

export function runHistoryTests(name: string, setup: () => LabTables, after?: () => Promise<void>): void {
  const { it, run } = labSuite(`HistoryStore: ${name}`, setup, after)

  it('[HS1] new entries are stored and counted, with the customer and store of the order\'s reception', async (open) => {
    const c = await open()
    await c.reception('o1', 'alice', 'station', 'lab-1')
    const entries = [entry('lab-1:o1-0:1'), entry('lab-1:o2-0:1', { order: 'o2', job: 'job-9', item: 3, copies: 1, status: 'aborted' })]
    assert.is(await c.history.record('lab-1', entries, RECEIVED), 2)
    assert.equal(await c.historyRows(), [row(entries[0], 'alice', 'station'), row(entries[1], null, null)], 'an order without reception: no customer, no store')
  })

  it('[HS2] an entry resent is stored once and the first report of it stays', async (open) => {
    const c = await open()
    const first = entry('e1')
    assert.is(await c.history.record('lab-1', [first], RECEIVED), 1)
    assert.is(await c.history.record('lab-1', [entry('e1', { copies: 9 }), entry('e2')], new Date(RECEIVED.getTime() + 1)), 1)
    assert.equal((await c.historyRows())[0], row(first, null, null))
    assert.is(await c.history.record('lab-1', [entry('e3'), entry('e3')], RECEIVED), 1, 'twice in one report: once')
  })

  it('[HS3] an entry stored through one connection is not new through another (a restart, another relay)', async (open) => {
    const a = await open()
    const b = await open()
    assert.is(await a.history.record('lab-1', [entry('e1'), entry('e2')], RECEIVED), 2)
    assert.is(await b.history.record('lab-1', [entry('e2'), entry('e3')], RECEIVED), 1)
    assert.equal((await a.historyRows()).map((r) => r.id), ['e1', 'e2', 'e3'])
  })

  it('[HS4] a reprint is kept as such with its reason cut to its bound in characters; a reason without reprint is not kept', async (open) => {
    const c = await open()
    const long = '日'.repeat(MAX_REPRINT_REASON) + '😀 more'
    await c.history.record('lab-1', [
      entry('r1', { reprint: true, reason: 'smudged' }), entry('r2', { reprint: true, reason: long }), entry('r3', { reprint: true }),
      entry('r4', { reason: 'not a reprint' }), entry('r5', { reprint: true, reason: 42 as never }),
    ], RECEIVED)
    const kept = (await c.historyRows()).map((r) => [r.id, r.reprint, r.reason])
    assert.equal(kept, [['r1', true, 'smudged'], ['r2', true, '日'.repeat(MAX_REPRINT_REASON)], ['r3', true, null], ['r4', false, null], ['r5', true, null]])
  })

  it('[HS5] a report of thousands of entries is stored whole, in one go', async (open) => {
    const c = await open()
    const entries = Array.from({ length: 12_000 }, (_, i) => entry(`big-${i}`, { order: `o${i % 50}` }))
    assert.is(await c.history.record('lab-1', entries, RECEIVED), 12_000)
    assert.is((await c.historyRows()).length, 12_000)
    assert.is(await c.history.record('lab-1', [], RECEIVED), 0)
  })

  it('[HS6] text any store can hold is stored as sent; NUL and lone surrogates are stored, never refused', async (open) => {
    const c = await open()
    const hostile = ['comma, "quote"\n=1+1', 'ümlaut 日本語 😀', 'nul\u0000inside', 'lone\uD800surrogate']
    assert.is(await c.history.record('lab-1', hostile.map((text, i) => entry(`h${i}`, { printer: text, job: text, status: text })), RECEIVED), 4)
    const rows = await c.historyRows()
    // What each store makes of the two (PostgreSQL: U+FFFD; SQLite keeps NUL, and a lone surrogate
    // as its UTF-8 encoder writes it) is its own; that the report is stored is the rule.
    assert.equal(rows.map((r) => r.id), ['h0', 'h1', 'h2', 'h3'])
    hostile.forEach((text, i) => { if (pgText(text) === text) assert.is(rows[i].printer, text) })
  })

  run()
}
