// The PostgreSQL ImageStore as two relays use it: each with its own directory for files, one
// database between them. A photo received by one is served from the other's directory once it
// materialized it; a photo over the bound is refused before anything is stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ImageTooLargeError, PgImageStore } from '../../storage/postgres/image-store.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

const META = { bytes: 4096, width: 64, height: 64, format: 'png' as const }
let server: PostgresServer
const dirs: string[] = []
const scratch = () => { const dir = mkdtempSync(join(tmpdir(), 'labsync-pgimages-')); dirs.push(dir); return dir }

test.before(async () => { server = await startPostgres() })
test.after(async () => {
  await server.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function receive(store: PgImageStore, bytes: Buffer): { file: string; sha256: string } {
  const file = store.incomingPath()
  writeFileSync(file, bytes)
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') }
}

test('a photo one relay received is served from another relay\'s directory once materialized', async () => {
  const url = await server.createDatabase('two_relays')
  const [a, b] = await Promise.all([PgImageStore.open(url, scratch()), PgImageStore.open(url, scratch())])
  try {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256))
    const { file, sha256 } = receive(a, bytes)
    await a.adopt(file, sha256)
    assert.ok(a.record(sha256, META, 'u1'))
    assert.ok(b.has(sha256))
    assert.ok(b.isOwner(sha256, 'u1'))
    assert.not.ok(existsSync(b.path(sha256)))
    assert.ok(await b.materialize(sha256))
    assert.equal(readFileSync(b.path(sha256)), bytes)
    assert.not.ok(await b.materialize('f'.repeat(64)))
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a photo over the bound is refused and nothing of it is stored', async () => {
  const url = await server.createDatabase('bounded')
  const store = await PgImageStore.open(url, scratch(), { maxBytes: 1000 })
  const other = await PgImageStore.open(url, scratch())
  try {
    const { file, sha256 } = receive(store, Buffer.alloc(1001, 1))
    try {
      await store.adopt(file, sha256)
      assert.unreachable('adopted a photo over the bound')
    } catch (error) {
      assert.instance(error, ImageTooLargeError)
    }
    assert.not.ok(existsSync(file))
    assert.not.ok(existsSync(store.path(sha256)))
    assert.not.ok(await other.materialize(sha256))
  } finally {
    await Promise.all([store.close(), other.close()])
  }
})

test.run()
