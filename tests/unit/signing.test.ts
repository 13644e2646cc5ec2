// Ed25519 session tokens and in-store stamps (shared/signing.ts), the relay's judgement of a
// stamp (relay/orders/stamps.ts, against lab keys in a real in-memory SQLite database), and the
// right that lets a customer's device carry a stamp (shared/rights.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keyIdOf, newKeyPair, publicKeyOf, readStamp, signStamp, signToken, specDigest, verifyStamp, verifyToken } from '../../shared/signing.ts'
import { refuseWrite, refuseWriteInStore, type OrderFacts } from '../../shared/rights.ts'
import { openDatabase } from '../../storage/sqlite/database.ts'
import { RELAY_MIGRATIONS } from '../../relay/store/migrations.ts'
import { LabKeys, SqliteLabKeyRows } from '../../relay/store/lab-keys.ts'
import { judgeStamp, MAX_CLOCK_SKEW_MS, MAX_STORE_OUTAGE_MS } from '../../relay/orders/stamps.ts'

const relayKey = newKeyPair()
const otherKey = newKeyPair()
const claims = { sub: 'alice', sid: 'session-1', exp: 1_900_000_000_000 }
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

test('a token verifies with the key that signed it and yields its claims', () => {
  const token = signToken(claims, relayKey)
  assert.match(token, /^ls1\.[\w-]+\.[\w-]+$/)
  assert.equal(verifyToken(token, publicKeyOf(relayKey.publicJwk)!), claims)
})

test('a token signed by another key, edited, truncated or of another shape does not verify', () => {
  const token = signToken(claims, relayKey)
  const key = publicKeyOf(relayKey.publicJwk)!
  const [prefix, body, sig] = token.split('.')
  assert.is(verifyToken(signToken(claims, otherKey), key), null, 'other key')
  assert.is(verifyToken(`${prefix}.${b64json({ ...claims, sub: 'bob' })}.${sig}`, key), null, 'claims edited')
  assert.is(verifyToken(`${prefix}.${body}.${sig.slice(0, -4)}`, key), null, 'signature truncated')
  assert.is(verifyToken(`${prefix}.${body}`, key), null, 'no signature')
  assert.is(verifyToken(`ls2.${body}.${sig}`, key), null, 'unknown version')
  assert.is(verifyToken('a random bearer token', key), null)
  const noExpiry = signToken({ sub: 'alice', sid: 's' } as never, relayKey)
  assert.is(verifyToken(noExpiry, key), null, 'claims without exp')
})

test('publicKeyOf takes only well-formed Ed25519 JWKs', () => {
  assert.ok(publicKeyOf(relayKey.publicJwk))
  for (const bad of [null, {}, { kty: 'RSA' }, { kty: 'OKP', crv: 'X25519', x: relayKey.publicJwk.x }, { kty: 'OKP', crv: 'Ed25519', x: 'short' }]) {
    assert.is(publicKeyOf(bad), null, JSON.stringify(bad))
  }
  assert.is(keyIdOf(relayKey.publicJwk), relayKey.keyId)
  assert.is(relayKey.keyId.length, 16)
})

const labKey = newKeyPair()
const stampAt = '2026-11-23T10:00:00.000Z'
const submittedSpec = { id: 'o1', user: 'alice', front: 'store-1', createdAt: '2026-11-23T09:59:00.000Z', items: [{ image: 'a'.repeat(64), product: 'L', qty: 2 }] }
const fields = { lab: 'lab-1', front: 'store-1', receivedAt: stampAt, spec: specDigest(submittedSpec) }

test('a stamp binds order, customer, contents, store, lab, time and key', () => {
  const stamp = signStamp('o1', 'alice', fields, labKey)
  const key = publicKeyOf(labKey.publicJwk)!
  assert.ok(verifyStamp('o1', 'alice', stamp, key))
  assert.not.ok(verifyStamp('o2', 'alice', stamp, key), 'moved to another order')
  assert.not.ok(verifyStamp('o1', 'bob', stamp, key), 'moved to another customer')
  assert.not.ok(verifyStamp('o1', 'alice', { ...stamp, receivedAt: '2026-11-01T10:00:00.000Z' }, key), 'backdated')
  assert.not.ok(verifyStamp('o1', 'alice', { ...stamp, front: 'store-2' }, key), 'other store')
  assert.not.ok(verifyStamp('o1', 'alice', { ...stamp, spec: specDigest({ ...submittedSpec, items: [] }) }, key), 'other contents')
  assert.not.ok(verifyStamp('o1', 'alice', stamp, publicKeyOf(otherKey.publicJwk)!), 'other key')
  assert.not.ok(verifyStamp('o1', 'alice', { ...stamp, sig: '!!' }, key), 'garbage signature')
})

test('readStamp takes the six string fields or nothing', () => {
  const stamp = signStamp('o1', 'alice', fields, labKey)
  assert.equal(readStamp(new Map(Object.entries(stamp))), stamp)
  assert.is(readStamp(new Map()), null)
  assert.equal(specDigest({ ...submittedSpec, items: [{ ...submittedSpec.items[0], template: undefined }] }), specDigest(submittedSpec), 'no template = undefined template')
  assert.is.not(specDigest({ ...submittedSpec, items: [{ ...submittedSpec.items[0], qty: 3 }] }), specDigest(submittedSpec))
  assert.is(readStamp(new Map(Object.entries({ ...stamp, receivedAt: 42 }))), null)
  assert.is(readStamp(new Map(Object.entries({ ...stamp, sig: 'x'.repeat(201) }))), null)
})

async function judge(options: { stamp?: Partial<ReturnType<typeof signStamp>>; firstSeen?: number; register?: 'lab-1' | 'lab-2' | null; order?: Partial<{ order: string; user: string; front: string; lab: string; spec: string }> } = {}) {
  const keys = new LabKeys(new SqliteLabKeyRows(openDatabase(':memory:', RELAY_MIGRATIONS)))
  if (options.register !== null) await keys.register(options.register ?? 'lab-1', labKey.publicJwk)
  const stamp = { ...signStamp('o1', 'alice', fields, labKey), ...options.stamp }
  const firstSeen = new Date(options.firstSeen ?? Date.parse(stampAt) + 3_600_000)
  return judgeStamp(stamp, { order: 'o1', user: 'alice', front: 'store-1', lab: 'lab-1', spec: specDigest(submittedSpec), ...options.order }, firstSeen, keys)
}

test('the relay dates a reception by a good stamp, the earlier of it and its first sight', async () => {
  const good = await judge()
  assert.is(good.used, true)
  assert.is(good.at?.toISOString(), stampAt)
  const slightlyAhead = await judge({ firstSeen: Date.parse(stampAt) - 30_000 })
  assert.is(slightlyAhead.used, true, 'within the clock skew allowed')
  assert.is(slightlyAhead.at?.getTime(), Date.parse(stampAt) - 30_000, 'never later than the relay saw it')
})

test('the relay refuses stamps from the future, from long ago, from unregistered keys or other labs, or for other orders', async () => {
  const reasons: Array<[string, Awaited<ReturnType<typeof judge>>, RegExp]> = [
    ['future', await judge({ firstSeen: Date.parse(stampAt) - MAX_CLOCK_SKEW_MS - 1_000 }), /clock skew/],
    ['too old', await judge({ firstSeen: Date.parse(stampAt) + MAX_STORE_OUTAGE_MS + 1_000 }), /days before/],
    ['unregistered key', await judge({ register: null }), /not registered for lab lab-1/],
    ["another lab's key", await judge({ register: 'lab-2' }), /not registered for lab lab-1/],
    ['store belongs to another lab', await judge({ order: { lab: 'lab-2' } }), /belongs to lab lab-2/],
    ['another store', await judge({ order: { front: 'store-2' } }), /names store store-1/],
    ['another order', await judge({ order: { order: 'o2' } }), /signature does not match/],
    ['another customer', await judge({ order: { user: 'bob' } }), /signature does not match/],
    ['edited time', await judge({ stamp: { receivedAt: '2026-11-23T09:00:00.000Z' } }), /signature does not match/],
    ['order changed after stamping', await judge({ order: { spec: specDigest({ ...submittedSpec, items: [{ image: 'b'.repeat(64), product: 'L', qty: 2 }] }) } }), /changed after the store stamped it/],
  ]
  for (const [what, outcome, reason] of reasons) {
    assert.is(outcome.used, false, what)
    assert.is(outcome.at, undefined, what)
    assert.match(outcome.reason ?? '', reason, what)
  }
})

test('a lab key belongs to the lab that registered it first', async () => {
  const keys = new LabKeys(new SqliteLabKeyRows(openDatabase(':memory:', RELAY_MIGRATIONS)))
  assert.is((await keys.register('lab-1', labKey.publicJwk)).outcome, 'created')
  assert.is((await keys.register('lab-1', labKey.publicJwk)).outcome, 'known')
  assert.is((await keys.register('lab-2', labKey.publicJwk)).outcome, 'taken')
  assert.is((await keys.register('lab-1', { kty: 'OKP', crv: 'Ed25519', x: 'nope' })).outcome, 'invalid')
  assert.is((await keys.get(labKey.keyId))?.lab, 'lab-1')
})

const submitted: OrderFacts = { owner: 'alice', lab: null, state: 'submitted', progress: null }
const instoreOnly = { maps: new Set(['instore']), specKeys: new Set<string>(), nextState: null, nextUser: null, nextId: null }
const order = { kind: 'order' as const, name: 'order/o1', orderId: 'o1' }

test("the owner's device may carry a stamp to the relay, nobody else's, and never with the relay's maps", () => {
  assert.is(refuseWrite({ kind: 'user', userId: 'alice' }, order, instoreOnly, submitted), null)
  assert.is(refuseWrite({ kind: 'user', userId: 'alice' }, order, instoreOnly, { ...submitted, lab: 'lab-1' }), null, 'after the receipt: harmless, read only at reception')
  assert.ok(refuseWrite({ kind: 'user', userId: 'bob' }, order, instoreOnly, submitted))
  assert.ok(refuseWrite({ kind: 'user', userId: 'alice' }, order, instoreOnly, { owner: null, lab: null, state: null, progress: null }), 'not as the first write of an order')
  assert.ok(refuseWrite({ kind: 'user', userId: 'alice' }, order, { ...instoreOnly, maps: new Set(['instore', 'receipt']) }, submitted))
  assert.ok(refuseWrite({ kind: 'lab', labId: 'lab-1' }, order, instoreOnly, { ...submitted, lab: 'lab-1' }), 'a lab writes only progress at the relay')
})

test("in the store, the owner's copy may bring the relay's receipt and the lab's progress along, nobody else's", () => {
  const alice = { kind: 'user' as const, userId: 'alice' }
  const synced = { maps: new Set(['spec', 'receipt', 'progress']), specKeys: new Set(['id', 'user', 'state', 'items']), nextState: 'submitted' as const, nextUser: 'alice', nextId: 'o1' }
  const unclaimed: OrderFacts = { owner: null, lab: null, state: null, progress: null }
  assert.ok(refuseWrite(alice, order, synced, unclaimed), 'the relay refuses a customer writing its receipt')
  assert.is(refuseWriteInStore(alice, order, synced, unclaimed), null, 'the store takes the whole synced copy')
  assert.is(refuseWriteInStore(alice, order, { ...synced, maps: new Set(['receipt']) }, submitted), null)
  assert.ok(refuseWriteInStore(alice, order, { ...synced, maps: new Set(['receipt']) }, unclaimed), 'not as the first write of an order')
  assert.ok(refuseWriteInStore({ kind: 'user', userId: 'bob' }, order, { ...synced, maps: new Set(['receipt']), nextUser: 'bob' }, submitted), "not into another customer's order")
  assert.ok(refuseWriteInStore(alice, order, { ...synced, nextUser: 'bob' }, unclaimed), 'spec rules still hold')
  assert.ok(refuseWriteInStore(alice, { kind: 'catalog', name: 'catalog' }, { ...synced, maps: new Set(['catalog']) }), 'other rooms as at the relay')
})

test.run()
