// Order numbers (shared/order-number.ts): short, unique per counter, readable (never 0 O 1 I L U),
// typed back in any case; properties checked with seeded fast-check.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { ALPHABET, MIN_LENGTH, OrderNumberError, decode, encode, isWellFormed, parse } from '../../shared/order-number.ts'

const SEED = 20260415
const NUM_RUNS = 500
const options = { seed: SEED, numRuns: NUM_RUNS }
const FOUR = ALPHABET.length ** 4
const FIVE = ALPHABET.length ** 5

const counter = fc.oneof(
  fc.integer({ min: 1, max: 5000 }),
  fc.integer({ min: FOUR - 50, max: FOUR + 50 }),
  fc.integer({ min: FOUR + FIVE - 50, max: FOUR + FIVE + 50 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
)

test('the alphabet has no 0 O 1 I L U, and no symbol twice', () => {
  for (const bad of '0O1ILU') assert.not.ok(ALPHABET.includes(bad), bad)
  assert.is(new Set(ALPHABET).size, ALPHABET.length)
  assert.is(ALPHABET.length, 30)
})

test('a store\'s first 810,000 numbers have four characters, then five', () => {
  assert.is(encode(1).length, MIN_LENGTH)
  assert.is(encode(FOUR).length, 4)
  assert.is(encode(FOUR + 1).length, 5)
  assert.is(encode(FOUR + FIVE).length, 5)
  assert.is(encode(FOUR + FIVE + 1).length, 6)
})

test('every four-character code is used exactly once by the first 810,000 counters', () => {
  const seen = new Set<string>()
  for (let n = 1; n <= FOUR; n++) seen.add(encode(n))
  assert.is(seen.size, FOUR)
})

test('consecutive counters give codes that differ in more than one place', () => {
  for (let n = 1; n < 2000; n++) {
    const [a, b] = [encode(n), encode(n + 1)]
    const same = [...a].filter((symbol, i) => b[i] === symbol).length
    assert.ok(same <= a.length - 2, `${n}: ${a} and ${b}`)
  }
})

test('property: codes never contain a confusable character, and are well-formed', () => {
  fc.assert(fc.property(counter, (n) => {
    const code = encode(n)
    return /^[2-9A-HJKMNP-TV-Z]+$/.test(code) && !/[01OILU]/.test(code) && isWellFormed(code)
  }), options)
})

test('property: distinct counters give distinct codes (decode undoes encode)', () => {
  fc.assert(fc.property(counter, counter, (a, b) => (a === b) === (encode(a) === encode(b))), options)
  fc.assert(fc.property(counter, (n) => decode(encode(n)) === n), options)
})

test('property: a code typed in lower case, or with spaces and hyphens, reads as itself', () => {
  const typed = fc.tuple(counter, fc.array(fc.constantFrom(' ', '-', ''), { minLength: 5, maxLength: 5 }), fc.boolean())
  fc.assert(fc.property(typed, ([n, gaps, lower]) => {
    const code = encode(n)
    const text = [...code].map((symbol, i) => (lower ? symbol.toLowerCase() : symbol) + (gaps[i % gaps.length] ?? '')).join('')
    return parse(text) === code
  }), options)
})

test('a typed number with 0 O 1 I L or U is refused, naming the character', () => {
  for (const [text, said] of [['K7M0', 'zero'], ['k7mo', 'the letter O'], ['K1M2', 'one'], ['KIM2', 'the letter I'], ['klm2', 'the letter L'], ['KUM2', 'the letter U']]) {
    try {
      parse(text)
      assert.unreachable(`${text} was accepted`)
    } catch (error) {
      assert.instance(error, OrderNumberError)
      assert.match((error as OrderNumberError).reason, said)
    }
  }
})

test('too short, too long, empty or other characters are not order numbers', () => {
  for (const text of ['', '  ', 'K7M', 'K7M2K7M2K7M2K', 'K7M2!', 'K7_M2', 'ÄBCD']) assert.not.ok(isWellFormed(text), JSON.stringify(text))
  assert.ok(isWellFormed('k7m2'))
})

test('counters below 1 or not whole are refused', () => {
  for (const n of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) assert.throws(() => encode(n), RangeError)
})

test.run()
