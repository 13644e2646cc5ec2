// The acceptance suite LabKeys runs on every LabKeyRows (relay/store/lab-keys.ts): a key belongs to
// the lab that registered it first, forever; what is not a key is refused; a key registered through
// one connection (a relay restarted, or in a cluster another relay) is known through every other.
import * as assert from 'uvu/assert'
import { keyIdOf, newKeyPair, signToken, verifyToken } from '../../shared/signing.ts'
import { LabKeys } from '../../relay/store/lab-keys.ts'
import { labSuite, type LabTables } from './lab-tables.ts'

const AT = Date.parse('2026-05-01T09:00:00.000Z')

export function runLabKeysTests(name: string, setup: () => LabTables, after?: () => Promise<void>): void {
  const { it, run } = labSuite(`LabKeys: ${name}`, setup, after)

  it('[LK1] a new key is created for its lab, then known; it verifies what the lab signs', async (open) => {
    const keys = new LabKeys((await open()).labKeyRows, () => AT)
    const pair = newKeyPair()
    assert.equal(await keys.register('lab-1', pair.publicJwk), { outcome: 'created', keyId: pair.keyId })
    assert.equal(await keys.register('lab-1', pair.publicJwk), { outcome: 'known', keyId: pair.keyId })
    const key = (await keys.get(pair.keyId))!
    assert.equal({ keyId: key.keyId, lab: key.lab, registeredAt: key.registeredAt }, { keyId: pair.keyId, lab: 'lab-1', registeredAt: AT })
    assert.ok(verifyToken(signToken({ sub: 'x', sid: 's', exp: AT / 1000 + 60 }, pair), key.publicKey))
  })

  it('[LK2] a key another lab registered is taken, and stays the first lab\'s', async (open) => {
    const keys = new LabKeys((await open()).labKeyRows, () => AT)
    const pair = newKeyPair()
    await keys.register('lab-1', pair.publicJwk)
    assert.equal(await keys.register('lab-2', pair.publicJwk), { outcome: 'taken', keyId: pair.keyId })
    assert.is((await keys.get(pair.keyId))?.lab, 'lab-1')
  })

  it('[LK3] what is no Ed25519 public key is invalid, and nothing is stored', async (open) => {
    const keys = new LabKeys((await open()).labKeyRows, () => AT)
    for (const jwk of [null, 'x', {}, { kty: 'OKP', crv: 'Ed25519', x: 'nope' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, { ...newKeyPair().publicJwk, crv: 'X25519' }]) {
      assert.equal(await keys.register('lab-1', jwk), { outcome: 'invalid' }, JSON.stringify(jwk))
    }
  })

  it('[LK4] only kty, crv and x are kept: the same key with other members is the same key', async (open) => {
    const keys = new LabKeys((await open()).labKeyRows, () => AT)
    const pair = newKeyPair()
    assert.equal(await keys.register('lab-1', { ...pair.publicJwk, kid: 'mine', use: 'sig' }), { outcome: 'created', keyId: keyIdOf(pair.publicJwk) })
    assert.equal(await keys.register('lab-1', pair.publicJwk), { outcome: 'known', keyId: pair.keyId })
  })

  it('[LK5] an id asked for before its key was registered elsewhere is found once it is (unknown ids are not remembered)', async (open) => {
    const asking = new LabKeys((await open()).labKeyRows, () => AT)
    const registering = new LabKeys((await open()).labKeyRows, () => AT)
    const pair = newKeyPair()
    assert.is(await asking.get(pair.keyId), null)
    assert.is((await registering.register('lab-1', pair.publicJwk)).outcome, 'created')
    assert.is((await asking.get(pair.keyId))?.lab, 'lab-1')
    assert.equal(await asking.register('lab-2', pair.publicJwk), { outcome: 'taken', keyId: pair.keyId }, 'taken through the other connection too')
  })

  it('[LK6] a key survives a restart', async (open) => {
    const first = await open()
    const pair = newKeyPair()
    await new LabKeys(first.labKeyRows, () => AT).register('lab-1', pair.publicJwk)
    await first.close()
    const key = await new LabKeys((await open()).labKeyRows).get(pair.keyId)
    assert.equal(key && { lab: key.lab, registeredAt: key.registeredAt }, { lab: 'lab-1', registeredAt: AT })
  })

  run()
}
