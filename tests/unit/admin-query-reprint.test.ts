// relay/http/admin-query.ts: the history listing's reprint=true|false, read as the stored column has it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { listingQuery, type Param } from '../../relay/http/admin-query.ts'
import { BadRequestError } from '../../shared/errors.ts'

const HISTORY: Param[] = ['lab', 'reprint', 'limit', 'after', 'format']
const query = (search: string, allowed = HISTORY) => listingQuery(new URL(`http://relay/api/admin/history?${search}`), allowed, 'Asia/Tokyo', 'history')

test('reprint=true asks for the reprints (1), reprint=false for the orders\' own prints (0), empty for both', () => {
  assert.equal(query('reprint=true').filter, { reprint: 1 })
  assert.equal(query('reprint=false&lab=lab-1').filter, { lab: 'lab-1', reprint: 0 })
  assert.equal(query('reprint=').filter, {})
})

test('any other value is a 400 naming reprint; a listing that does not take it refuses it as unknown', () => {
  assert.throws(() => query('reprint=yes'), (error: Error) => error instanceof BadRequestError && /^reprint: "yes"/.test(error.message))
  assert.throws(() => query('reprint=true', ['lab']), (error: Error) => error instanceof BadRequestError && /unknown parameter "reprint"/.test(error.message))
})

test.run()
