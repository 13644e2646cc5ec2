// Builds relay data dirs quickly, before the relay starts: receptions and stored documents go
// straight into SQLite. The schema comes from the relay's migration list (relay/store/migrations.ts),
// so it stays whatever the relay's is; indexes are dropped for the bulk insert and rebuilt from their own SQL.
import * as Y from 'yjs'
import { closeSync, fsyncSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { writeSpec } from '../../shared/schema.ts'

export const DAY_MS = 24 * 3600 * 1000

export function openSeedDb(dataDir: string): DB {
  const db = openDatabase(join(dataDir, 'relay.sqlite'), RELAY_MIGRATIONS)
  db.pragma('synchronous = OFF') // a bulk build; durability does not matter until the relay opens it
  return db
}

/** Checkpoints, closes, and fsyncs the file, so the OS is not still writing it back while something is timed. */
export function closeSeedDb(db: DB): void {
  const file = db.name
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  const fd = openSync(file, 'r+')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

/** Runs `insert` with the table's secondary indexes dropped, then rebuilds them (sorting beats 1M B-tree inserts). */
function withoutIndexes(db: DB, table: string, insert: () => void): void {
  const indexes = db.prepare<[string], { name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table)
  db.transaction(() => {
    for (const index of indexes) db.exec(`DROP INDEX "${index.name}"`)
    insert()
    for (const index of indexes) db.exec(index.sql)
  })()
}

const SERIES = 'WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < @count - 1)'

export interface ReceptionSeed {
  count: number
  /** Distinct past customers; each gets count/users receptions spread over the whole period. */
  users: number
  /** Receptions span [until - spanDays, until). */
  until: number
  spanDays: number
  front: string
  lab: string
}

/** Past receptions `past-00000000`…, users `past-u<n>`, one in 50 rejected, all delivered. */
export function seedReceptions(db: DB, seed: ReceptionSeed): void {
  const start = seed.until - seed.spanDays * DAY_MS
  const step = Math.max(1, Math.floor((seed.spanDays * DAY_MS) / seed.count))
  withoutIndexes(db, 'receptions', () => {
    db.prepare(`${SERIES}
      INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, error, lines, total, currency, delivered)
      SELECT printf('past-%08d', x), 'past-u' || (x % CAST(@users AS INTEGER)), @front, @lab, @start + x * @step,
             CASE WHEN x % 50 = 49 THEN 'rejected' ELSE 'accepted' END,
             CASE WHEN x % 50 = 49 THEN 'The order has no prints in it.' ELSE NULL END,
             '[{"kind":"print","label":"L x2","amount":70},{"kind":"fee","label":"Demo store","amount":100}]', 170, 'JPY', 1
      FROM n`).run({ count: seed.count, users: seed.users, front: seed.front, lab: seed.lab, start, step })
  })
}

export interface OrderDocSeed {
  count: number
  /** The lab an order was assigned to. */
  labOf: (index: number) => string
  frontOf: (lab: string) => string
  items: number
  until: number
  /** The lab whose queue lists its orders (`lab/<id>` document). */
  queueLab: string
}

export const seedOrderId = (i: number) => `stored-${String(i).padStart(8, '0')}`

/** A small received order as the relay would have stored it: spec (submitted) and an accepted receipt. */
export function orderDocUpdate(orderId: string, user: string, lab: string, front: string, items: number, receivedAt: string): Uint8Array {
  const doc = new Y.Doc()
  writeSpec(doc, {
    id: orderId, user, front, createdAt: receivedAt, state: 'submitted',
    items: Array.from({ length: items }, (_, i) => ({ image: createHashLike(orderId, i), product: 'L', qty: 1 + (i % 3) })),
  })
  const receipt = doc.getMap('receipt')
  doc.transact(() => {
    receipt.set('status', 'accepted')
    receipt.set('receivedAt', receivedAt)
    receipt.set('lab', lab)
    receipt.set('lines', [{ kind: 'print', label: `L x${items}`, amount: 35 * items }, { kind: 'fee', label: front, amount: 100 }])
    receipt.set('total', 35 * items + 100)
    receipt.set('currency', 'JPY')
    receipt.set('discount', null)
  })
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/** 64 hex characters that differ per order and item (the image field is a sha256). */
function createHashLike(orderId: string, item: number): string {
  let h = 2166136261
  for (const ch of `${orderId}/${item}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0
  return h.toString(16).padStart(8, '0').repeat(8)
}

/**
 * `count` received orders, each its own document and reception row (delivered, so loading one does
 * not start intake again); the queue lab's orders listed in its `lab/<id>` document. Returns the
 * queued order ids and the bytes of their stored updates.
 */
export function seedOrderDocs(db: DB, seed: OrderDocSeed): { queued: string[]; queuedBytes: number } {
  const insertDoc = db.prepare<[string, Uint8Array]>('INSERT INTO doc_updates (doc, data) VALUES (?, ?)')
  const insertReception = db.prepare(`INSERT INTO receptions (order_id, user_id, front, lab, received_at, status, lines, total, currency, delivered)
    VALUES (?, ?, ?, ?, ?, 'accepted', '[]', ?, 'JPY', 1)`)
  const queued: string[] = []
  let queuedBytes = 0
  const labDoc = new Y.Doc()
  const queue = labDoc.getMap('queue')
  withoutIndexes(db, 'doc_updates', () => {
    for (let i = 0; i < seed.count; i++) {
      const orderId = seedOrderId(i)
      const lab = seed.labOf(i)
      const front = seed.frontOf(lab)
      const at = seed.until - (seed.count - i) * 1000
      const receivedAt = new Date(at).toISOString()
      const update = orderDocUpdate(orderId, `stored-u${i % 5000}`, lab, front, seed.items, receivedAt)
      insertDoc.run(`order/${orderId}`, update)
      insertReception.run(orderId, `stored-u${i % 5000}`, front, lab, at, 35 * seed.items + 100)
      if (lab === seed.queueLab) {
        queued.push(orderId)
        queuedBytes += update.byteLength
        queue.set(orderId, { receivedAt, front })
      }
    }
    insertDoc.run(`lab/${seed.queueLab}`, Y.encodeStateAsUpdate(labDoc))
  })
  labDoc.destroy()
  return { queued, queuedBytes }
}

/**
 * `count` stored order documents for the cold start: a few hundred distinct real order updates,
 * reused across documents (the start-up path never reads their content).
 */
export function seedManyDocs(db: DB, count: number): void {
  const blobs = Array.from({ length: 256 }, (_, i) => orderDocUpdate(seedOrderId(i), `cold-u${i}`, 'demo-lab', 'demo-store', 3, new Date(Date.now() - i * 1000).toISOString()))
  withoutIndexes(db, 'doc_updates', () => {
    db.exec('CREATE TEMP TABLE cold_blobs (k INTEGER PRIMARY KEY, data BLOB NOT NULL)')
    const blob = db.prepare<[number, Uint8Array]>('INSERT INTO cold_blobs (k, data) VALUES (?, ?)')
    blobs.forEach((b, k) => blob.run(k, b))
    db.prepare(`${SERIES} INSERT INTO doc_updates (doc, data)
      SELECT printf('order/cold-%08d', x), (SELECT data FROM cold_blobs WHERE k = x % 256) FROM n`).run({ count })
    db.exec('DROP TABLE cold_blobs')
  })
}
