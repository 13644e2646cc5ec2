// Databases made before each owner had its own migration list still open, unchanged: a relay data
// directory at any released step, and a lab node's in-store lan.sqlite. "Before" is the released
// schema kept verbatim in fixtures/schema-before-issue-14.json, run the way the old code ran it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import Database from 'better-sqlite3'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type DB } from '../../storage/sqlite/database.ts'
import { SqliteDocStore } from '../../storage/sqlite/doc-store.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { LAN_MIGRATIONS, LanState } from '../../lab-node/lan/state.ts'

const released = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'schema-before-issue-14.json'), 'utf8')) as {
  relayMigrations: string[]
  lanSchema: string
}

/** A file as the old code left it: the released relay steps up to `version`, then `extra` (the lab node's). */
function oldDatabase(file: string, version: number, extra = ''): void {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  for (let step = 0; step < version; step++) {
    db.transaction(() => {
      db.exec(released.relayMigrations[step])
      db.pragma(`user_version = ${step + 1}`)
    })()
  }
  db.exec(extra)
  db.prepare('INSERT INTO doc_updates (doc, data) VALUES (?, ?)').run('order/kept', Buffer.from([1, 2, 3]))
  db.prepare("INSERT INTO images (sha256, bytes, width, height, format, created_at) VALUES (?, 1, 1, 1, 'png', 'then')").run('a'.repeat(64))
  db.close()
}

/** Every table and index with the SQL that made it, as SQLite keeps it. */
function schemaOf(db: DB): Array<{ type: string; name: string; sql: string | null }> {
  return db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ type: string; name: string; sql: string | null }>
}

function scratch(): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'labsync-schema-'))
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) }
}

async function storedUpdates(db: DB, doc: string): Promise<number[][]> {
  const store = new SqliteDocStore(db, { commitOn: 'caller' })
  return (await store.load(doc)).map((update) => [...update])
}

test('the released relay steps are kept, word for word, at the head of the list; later ones are only appended', () => {
  assert.ok(RELAY_MIGRATIONS.length >= released.relayMigrations.length)
  assert.equal(RELAY_MIGRATIONS.slice(0, released.relayMigrations.length), released.relayMigrations)
})

test('a new relay database, brought to the released step count, has exactly the released schema', () => {
  const { dir, done } = scratch()
  try {
    oldDatabase(join(dir, 'old.sqlite'), released.relayMigrations.length)
    const old = new Database(join(dir, 'old.sqlite'), { readonly: true })
    const fresh = openDatabase(join(dir, 'new.sqlite'), RELAY_MIGRATIONS.slice(0, released.relayMigrations.length))
    assert.equal(schemaOf(fresh), schemaOf(old))
    assert.is(fresh.pragma('user_version', { simple: true }), released.relayMigrations.length)
    old.close()
    fresh.close()
  } finally {
    done()
  }
})

test('a relay database made by the released steps, at any step, opens with its rows and the full schema', async () => {
  const { dir, done } = scratch()
  try {
    const fresh = openDatabase(join(dir, 'fresh.sqlite'), RELAY_MIGRATIONS)
    for (let version = 1; version <= released.relayMigrations.length; version++) {
      const file = join(dir, `relay-${version}.sqlite`)
      oldDatabase(file, version)
      const db = openDatabase(file, RELAY_MIGRATIONS)
      assert.equal(schemaOf(db), schemaOf(fresh), `from step ${version}`)
      assert.is(db.pragma('user_version', { simple: true }), RELAY_MIGRATIONS.length)
      assert.equal(await storedUpdates(db, 'order/kept'), [[1, 2, 3]])
      db.close()
    }
    fresh.close()
  } finally {
    done()
  }
})

test('an in-store database made with the relay\'s list opens with its documents, photos and tokens', async () => {
  for (const version of [5, 6]) {
    const { dir, done } = scratch()
    try {
      oldDatabase(join(dir, 'lan.sqlite'), version, `${released.lanSchema}
        INSERT INTO lan_users (user_id, token, expires_at) VALUES ('u1', 'secret', 9e15);`)
      const state = new LanState(dir, () => 0)
      assert.is(state.token('u1'), 'secret', `from step ${version}`)
      // Counted at the end of the lab node's own list, so its next step runs on this file too.
      assert.is(state.db.pragma('user_version', { simple: true }), LAN_MIGRATIONS.length)
      assert.equal(await storedUpdates(state.db, 'order/kept'), [[1, 2, 3]])
      assert.ok(state.db.prepare('SELECT 1 FROM images WHERE sha256 = ?').get('a'.repeat(64)))
      state.close()
    } finally {
      done()
    }
  }
})

test('an in-store database gets the document, image and lan tables only, as an upgraded one has them', () => {
  const { dir, done } = scratch()
  try {
    const fresh = new LanState(join(dir, 'fresh'), () => 0)
    const tables = schemaOf(fresh.db).filter((entry) => entry.type === 'table').map((entry) => entry.name)
    assert.equal(tables, ['doc_updates', 'image_owners', 'images', 'lan_links', 'lan_meta', 'lan_revoked', 'lan_uploads', 'lan_users'])
    oldDatabase(join(dir, 'old.sqlite'), 6, released.lanSchema)
    const old = new Database(join(dir, 'old.sqlite'), { readonly: true })
    const kept = new Set(schemaOf(fresh.db).map((entry) => entry.name))
    assert.equal(schemaOf(old).filter((entry) => kept.has(entry.name)), schemaOf(fresh.db))
    old.close()
    fresh.close()
  } finally {
    done()
  }
})

test.run()
