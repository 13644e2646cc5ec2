// What the lab node's in-store server keeps on disk, in `lan.sqlite` in its data directory: the
// documents and photos customers send over the LAN, in the document and image stores' tables
// (DocStore, ImageStore, exactly as the relay keeps them), plus:
//   lan_users     each customer's latest session token, to pass their documents and photos on
//                 to the relay as them (tokens are secrets: the file is made readable by the
//                 lab node's user only, and tokens are never logged)
//   lan_links     documents with changes the relay may not have yet (dirty = 1)
//   lan_uploads   photos received over the LAN and not yet accepted by the relay
//   lan_revoked   sign-outs fetched from the relay, until the tokens would have expired anyway
//   lan_meta      the revocation cursor and the clock offset measured against the relay
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, type DB, type Migrations } from '../../storage/sqlite/database.ts'
import { DOC_TABLES } from '../../storage/sqlite/doc-store.ts'
import { IMAGE_TABLES } from '../../storage/sqlite/image-store.ts'

/**
 * The in-store database's own list. Files made before it ran the relay's list (PRAGMA
 * user_version 5 or 6: the in-store server came with its step 5), whose step 1 made the document
 * and image tables, and created the lan_* tables outside any step: steps 2 to 6 are empty so
 * those files go on at 7, which makes the lan_* tables only where they are missing. Such files
 * keep the relay's other tables, empty and unused.
 */
export const LAN_MIGRATIONS: Migrations = [
  `${DOC_TABLES}
   ${IMAGE_TABLES}`,
  '', '', '', '', '',
  `CREATE TABLE IF NOT EXISTS lan_users (user_id TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS lan_links (room TEXT PRIMARY KEY, user_id TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS lan_uploads (sha256 TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (sha256, user_id)) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS lan_revoked (sid TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS lan_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
]

export class LanState {
  private readonly revokedListeners = new Set<() => void>()
  readonly db: DB
  private readonly stmt
  private readonly remembered = new Map<string, string>()

  constructor(dataDir: string, private readonly now: () => number = Date.now) {
    // Customers' tokens are in here: the directory is the lab node user's alone (the database's
    // -wal and -shm files are created with the umask's mode, so the directory is what protects them).
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    chmodSync(dataDir, 0o700)
    const file = join(dataDir, 'lan.sqlite')
    this.db = openDatabase(file, LAN_MIGRATIONS)
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600)
    const db = this.db
    this.stmt = {
      putUser: db.prepare(`INSERT INTO lan_users (user_id, token, expires_at) VALUES (?, ?, ?)
        ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at WHERE excluded.expires_at >= lan_users.expires_at`),
      token: db.prepare<[string, number], { token: string }>('SELECT token FROM lan_users WHERE user_id = ? AND expires_at > ?'),
      dropToken: db.prepare('DELETE FROM lan_users WHERE user_id = ? AND token = ?'),
      link: db.prepare('INSERT INTO lan_links (room, user_id) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET user_id = excluded.user_id'),
      dirty: db.prepare('UPDATE lan_links SET dirty = ? WHERE room = ?'),
      unlink: db.prepare('DELETE FROM lan_links WHERE room = ? AND dirty = 0'),
      dirtyLinks: db.prepare<[], { room: string; user_id: string }>('SELECT room, user_id FROM lan_links WHERE dirty = 1'),
      upload: db.prepare('INSERT OR IGNORE INTO lan_uploads (sha256, user_id) VALUES (?, ?)'),
      uploads: db.prepare<[], { sha256: string; user_id: string }>('SELECT sha256, user_id FROM lan_uploads'),
      uploaded: db.prepare('DELETE FROM lan_uploads WHERE sha256 = ? AND user_id = ?'),
      revoke: db.prepare('INSERT OR IGNORE INTO lan_revoked (sid, expires_at) VALUES (?, ?)'),
      revoked: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM lan_revoked WHERE sid = ?'),
      pruneRevoked: db.prepare('DELETE FROM lan_revoked WHERE expires_at <= ?'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM lan_meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO lan_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    }
  }

  rememberToken(user: string, token: string, expiresAt: number): void {
    if (this.remembered.get(user) === token) return // no commit (and fsync) per request for the same token
    this.stmt.putUser.run(user, token, expiresAt)
    this.remembered.set(user, token)
  }

  /** The customer's latest token that has not expired, or null. */
  token(user: string): string | null {
    return this.stmt.token.get(user, this.now())?.token ?? null
  }

  /** The relay refused this token (signed out, expired): forget it, unless a newer one replaced it. */
  forgetToken(user: string, token: string): void {
    if (this.remembered.get(user) === token) this.remembered.delete(user)
    this.stmt.dropToken.run(user, token)
  }

  link(room: string, user: string): void {
    this.stmt.link.run(room, user)
  }

  setDirty(room: string, dirty: boolean): void {
    this.stmt.dirty.run(dirty ? 1 : 0, room)
  }

  /** The link closed with nothing left to pass on: forget it. */
  unlink(room: string): void {
    this.stmt.unlink.run(room)
  }

  dirtyLinks(): Array<{ room: string; user: string }> {
    return this.stmt.dirtyLinks.all().map((row) => ({ room: row.room, user: row.user_id }))
  }

  addUpload(sha256: string, user: string): void {
    this.stmt.upload.run(sha256, user)
  }

  pendingUploads(): Array<{ sha256: string; user: string }> {
    return this.stmt.uploads.all().map((row) => ({ sha256: row.sha256, user: row.user_id }))
  }

  uploadDone(sha256: string, user: string): void {
    this.stmt.uploaded.run(sha256, user)
  }

  /** Stores sign-outs fetched from the relay; then tells onRevoked's listeners when there were any. */
  revoke(entries: Array<{ sid: string; expiresAt: number }>, cursor: number): void {
    this.db.transaction(() => {
      for (const { sid, expiresAt } of entries) this.stmt.revoke.run(sid, expiresAt)
      this.stmt.pruneRevoked.run(this.now())
      this.setMeta('revocations', String(cursor))
    }).immediate()
    if (entries.length > 0) for (const listener of this.revokedListeners) listener()
  }

  /** Calls `listener` after each batch of new sign-outs is stored; returns a stop. */
  onRevoked(listener: () => void): () => void {
    this.revokedListeners.add(listener)
    return () => this.revokedListeners.delete(listener)
  }

  isRevoked(sid: string): boolean {
    return this.stmt.revoked.get(sid) !== undefined
  }

  meta(key: string): string | null {
    return this.stmt.getMeta.get(key)?.value ?? null
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value)
  }

  close(): void {
    this.db.close()
  }
}
