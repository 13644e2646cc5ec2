// SPEC.md's rights table as the pure functions mayRead and refuseWrite (shared/rights.ts):
// one test per rule, for customers, labs and admins, before and after an order is assigned.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mayRead, refuseWrite, refuseWriteInStore, type OrderFacts, type Principal, type WriteShape } from '../../shared/rights.ts'
import { parseRoom, type OrderState, type Room } from '../../shared/schema.ts'

const alice: Principal = { kind: 'user', userId: 'alice' }
const bob: Principal = { kind: 'user', userId: 'bob' }
const lab1: Principal = { kind: 'lab', labId: 'lab-1' }
const lab2: Principal = { kind: 'lab', labId: 'lab-2' }
const admin: Principal = { kind: 'admin', name: 'root' }

const room = (name: string): Room => {
  const parsed = parseRoom(name)
  if (!parsed) throw new Error(`not a room: ${name}`)
  return parsed
}
const catalog = room('catalog')
const aliceRoom = room('user/alice')
const lab1Room = room('lab/lab-1')
const order = room('order/o1')

const facts = (over: Partial<OrderFacts> = {}): OrderFacts => ({ owner: 'alice', lab: null, state: 'draft', progress: null, ...over })
const unclaimed = facts({ owner: null, state: null })
const assigned = (over: Partial<OrderFacts> = {}) => facts({ lab: 'lab-1', state: 'submitted', progress: 'queued', ...over })

/** A write touching `maps`; for `spec`, the keys and the values after it. */
const write = (maps: string[], spec: { keys?: string[]; state?: OrderState; user?: string; id?: string } = {}): WriteShape => ({
  maps: new Set(maps),
  specKeys: new Set(spec.keys ?? []),
  nextState: spec.state ?? null,
  nextUser: spec.user ?? null,
  nextId: spec.id ?? null,
})
const claim = (user: string, id = 'o1') => write(['spec'], { keys: ['id', 'user', 'front', 'createdAt', 'state', 'items'], state: 'draft', user, id })
const specEdit = (keys: string[], state: OrderState = 'draft') => write(['spec'], { keys, state, user: 'alice', id: 'o1' })
const cancel = () => write(['spec'], { keys: ['state'], state: 'cancelled', user: 'alice', id: 'o1' })

const allowed = (reason: string | null) => assert.is(reason, null, `expected the write to be allowed, it was refused: ${reason}`)
const refused = (reason: string | null) => assert.type(reason, 'string', 'expected the write to be refused, it was allowed')

// ---------------------------------------------------------------- room names

test('only catalog, user/<id>, order/<id> and lab/<id> are rooms', () => {
  for (const name of ['nope', 'order/', 'order/a/b', 'user/../x', 'lab', 'catalog/x', 'user/a b']) assert.is(parseRoom(name), null, name)
  assert.ok(parseRoom('order/o-1_x'))
})

// ---------------------------------------------------------------- catalog

test('everyone signed in reads the catalog', () => {
  for (const who of [alice, lab1, admin]) assert.ok(mayRead(who, catalog))
})

test('nobody writes the catalog over sync: not a customer, a lab or an admin', () => {
  for (const who of [alice, lab1, admin]) refused(refuseWrite(who, catalog, write(['catalog'])))
})

// ---------------------------------------------------------------- user/<userId>

test('a customer reads their own user document', () => {
  assert.ok(mayRead(alice, aliceRoom))
})

test('another customer may not read a user document', () => {
  assert.not.ok(mayRead(bob, aliceRoom))
})

test('a lab may not read a user document', () => {
  assert.not.ok(mayRead(lab1, aliceRoom))
})

test('an admin reads a user document', () => {
  assert.ok(mayRead(admin, aliceRoom))
})

test('a customer writes their own user document', () => {
  allowed(refuseWrite(alice, aliceRoom, write(['orders'])))
})

test('another customer may not write a user document', () => {
  refused(refuseWrite(bob, aliceRoom, write(['orders'])))
})

test('an admin may not write a user document', () => {
  refused(refuseWrite(admin, aliceRoom, write(['orders'])))
})

// ---------------------------------------------------------------- order/<orderId>: reading

test('any customer may open an order nobody has claimed yet', () => {
  assert.ok(mayRead(alice, order, unclaimed))
  assert.ok(mayRead(bob, order, unclaimed))
})

test('the owner reads their order', () => {
  assert.ok(mayRead(alice, order, facts()))
})

test('another customer may not read a claimed order', () => {
  assert.not.ok(mayRead(bob, order, facts()))
})

test('an admin reads any order', () => {
  assert.ok(mayRead(admin, order, facts()))
  assert.ok(mayRead(admin, order, unclaimed))
})

test('a lab may not read an order before it is assigned to it', () => {
  assert.not.ok(mayRead(lab1, order, facts({ state: 'submitted' })))
  assert.not.ok(mayRead(lab1, order, unclaimed))
})

test('the assigned lab reads the order', () => {
  assert.ok(mayRead(lab1, order, assigned()))
})

test('a lab may not read an order assigned to another lab', () => {
  assert.not.ok(mayRead(lab2, order, assigned()))
})

// ---------------------------------------------------------------- order/<orderId>: claiming

test('a customer claims a new order with their own id in spec.user', () => {
  allowed(refuseWrite(alice, order, claim('alice'), unclaimed))
})

test('a claim naming another customer in spec.user is refused', () => {
  refused(refuseWrite(alice, order, claim('bob'), unclaimed))
})

test('a claim without spec.user is refused', () => {
  refused(refuseWrite(alice, order, write(['spec'], { keys: ['front'] }), unclaimed))
})

test('a claim whose spec.id is not the order id is refused', () => {
  refused(refuseWrite(alice, order, claim('alice', 'o2'), unclaimed))
})

test('a claim that also writes a receipt is refused whole', () => {
  refused(refuseWrite(alice, order, { ...claim('alice'), maps: new Set(['spec', 'receipt']) }, unclaimed))
})

test('another customer cannot write a claimed order', () => {
  refused(refuseWrite(bob, order, specEdit(['front']), facts()))
  refused(refuseWrite(bob, order, { ...claim('bob') }, facts()))
})

// ---------------------------------------------------------------- order/<orderId>: the owner

test('the owner edits the spec of a draft', () => {
  allowed(refuseWrite(alice, order, specEdit(['items', 'front']), facts()))
})

test('the owner submits a draft', () => {
  allowed(refuseWrite(alice, order, specEdit(['state'], 'submitted'), facts()))
})

test('the owner cannot hand the order to another customer through spec.user', () => {
  refused(refuseWrite(alice, order, write(['spec'], { keys: ['user'], state: 'draft', user: 'bob', id: 'o1' }), facts()))
})

test('the owner cannot change spec.id', () => {
  refused(refuseWrite(alice, order, write(['spec'], { keys: ['id'], state: 'draft', user: 'alice', id: 'o2' }), facts()))
})

test('the owner cannot write the receipt', () => {
  refused(refuseWrite(alice, order, write(['receipt']), facts()))
})

test('the owner cannot write progress', () => {
  refused(refuseWrite(alice, order, write(['progress']), facts()))
})

test('the owner cannot write a map outside the document shape', () => {
  refused(refuseWrite(alice, order, write(['notes']), facts()))
})

test('the owner cannot edit the spec once the order is submitted', () => {
  refused(refuseWrite(alice, order, specEdit(['items'], 'submitted'), facts({ state: 'submitted' })))
})

test('the owner cannot put a submitted order back to draft', () => {
  refused(refuseWrite(alice, order, specEdit(['state'], 'draft'), facts({ state: 'submitted' })))
})

test('a cancel that also edits the spec is refused after submission', () => {
  refused(refuseWrite(alice, order, write(['spec'], { keys: ['state', 'items'], state: 'cancelled', user: 'alice' }), facts({ state: 'submitted' })))
})

test('the same submit from a second device is accepted: it changes nothing', () => {
  allowed(refuseWrite(alice, order, specEdit(['state'], 'submitted'), facts({ state: 'submitted' })))
})

test('a second device may not sneak other spec keys in with a repeated submit', () => {
  refused(refuseWrite(alice, order, specEdit(['state', 'items'], 'submitted'), facts({ state: 'submitted' })))
})

test('the owner may cancel a submitted order', () => {
  allowed(refuseWrite(alice, order, cancel(), facts({ state: 'submitted' })))
})

test('the owner may cancel while the assigned lab has the order only queued', () => {
  allowed(refuseWrite(alice, order, cancel(), assigned({ progress: 'queued' })))
})

test('cancel is refused once the lab is printing', () => {
  refused(refuseWrite(alice, order, cancel(), assigned({ progress: 'printing' })))
})

test('cancel is refused once the lab has printed', () => {
  refused(refuseWrite(alice, order, cancel(), assigned({ progress: 'printed' })))
})

test('cancel is refused once the order is ready or collected, with the reason', () => {
  for (const progress of ['ready', 'collected']) {
    const reason = refuseWrite(alice, order, cancel(), assigned({ progress }))
    refused(reason)
    assert.match(reason!, /started printing/)
  }
})

test('cancel is allowed while the lab waits for a printer (held) or could not print (failed)', () => {
  for (const progress of ['held', 'failed']) allowed(refuseWrite(alice, order, cancel(), assigned({ progress })))
})

test('in the store too, a cancel is refused once the lab started printing, even carried with the relay\'s receipt', () => {
  for (const progress of ['printing', 'printed', 'ready', 'collected']) {
    refused(refuseWriteInStore(alice, order, cancel(), assigned({ progress })))
    const withCopies = write(['spec', 'receipt', 'progress'], { keys: ['state'], state: 'cancelled', user: 'alice', id: 'o1' })
    refused(refuseWriteInStore(alice, order, withCopies, assigned({ progress })))
  }
  allowed(refuseWriteInStore(alice, order, cancel(), assigned({ progress: 'held' })))
})

test('nothing in the spec changes once the order is cancelled; a repeated cancel changes nothing and is accepted', () => {
  allowed(refuseWrite(alice, order, cancel(), facts({ state: 'cancelled' })))
  refused(refuseWrite(alice, order, specEdit(['state'], 'submitted'), facts({ state: 'cancelled' })))
  refused(refuseWrite(alice, order, specEdit(['state'], 'draft'), facts({ state: 'cancelled' })))
})

// ---------------------------------------------------------------- order/<orderId>: labs and admins

test('the assigned lab writes progress', () => {
  allowed(refuseWrite(lab1, order, write(['progress']), assigned()))
})

test('the assigned lab cannot write the spec', () => {
  refused(refuseWrite(lab1, order, specEdit(['state'], 'cancelled'), assigned()))
})

test('the assigned lab cannot write the receipt', () => {
  refused(refuseWrite(lab1, order, write(['receipt']), assigned()))
})

test('a lab cannot write progress to an order that is not assigned to it', () => {
  refused(refuseWrite(lab2, order, write(['progress']), assigned()))
  refused(refuseWrite(lab1, order, write(['progress']), facts({ state: 'submitted' })))
})

test('an admin writes nothing in an order over sync', () => {
  for (const maps of [['spec'], ['receipt'], ['progress']]) refused(refuseWrite(admin, order, write(maps, { keys: ['state'], state: 'cancelled' }), assigned()))
})

// ---------------------------------------------------------------- lab/<labId>

test('a lab reads its own lab document', () => {
  assert.ok(mayRead(lab1, lab1Room))
})

test('a lab may not read another lab\'s document', () => {
  assert.not.ok(mayRead(lab2, lab1Room))
})

test('a customer may not read a lab document', () => {
  assert.not.ok(mayRead(alice, lab1Room))
})

test('an admin reads a lab document', () => {
  assert.ok(mayRead(admin, lab1Room))
})

test('the lab writes its history', () => {
  allowed(refuseWrite(lab1, lab1Room, write(['history'])))
})

test('the lab cannot write its queue', () => {
  refused(refuseWrite(lab1, lab1Room, write(['queue'])))
  refused(refuseWrite(lab1, lab1Room, write(['history', 'queue'])))
})

test('another lab cannot write a lab\'s history', () => {
  refused(refuseWrite(lab2, lab1Room, write(['history'])))
})

test('an admin writes nothing in a lab document over sync', () => {
  refused(refuseWrite(admin, lab1Room, write(['history'])))
  refused(refuseWrite(admin, lab1Room, write(['queue'])))
})

test('a customer writes nothing in a lab document', () => {
  refused(refuseWrite(alice, lab1Room, write(['history'])))
})

// ---------------------------------------------------------------- reasons

test('a refusal names the rule, never another customer\'s data', () => {
  const reason = refuseWrite(bob, order, specEdit(['front']), facts({ owner: 'alice-secret-id' }))
  assert.type(reason, 'string')
  assert.not.ok(reason!.includes('alice-secret-id'))
})

test('a write that touches no map is never refused', () => {
  allowed(refuseWrite(bob, order, write([]), facts()))
})

test.run()
