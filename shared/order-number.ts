// Order numbers: the short code a store (front) reads aloud or a customer types to name an order,
// made from that store's counter. Pure: the relay encodes, the admin API and the apps parse.
//
// The alphabet is Crockford's base 32 without 0 and 1: digits 2-9 and the capitals without I, L,
// O and U, 30 symbols. 0/O and 1/I/L are the pairs people confuse when reading or typing, so none
// of them appears at all (a typed one is refused, never guessed at); U goes as in Crockford, so
// that no code spells the common English obscenities. Four symbols give 810,000 numbers per store
// before a code grows to five (24.3 million more), and so on.
//
// Consecutive counters do not give neighbouring codes: within each length the counter is spread
// over the codes by a fixed bijection (multiply by a constant prime to 30, add an offset, modulo
// 30^length), so two orders taken one after the other at a counter differ in several places and
// a misheard symbol rarely lands on a recent order. Codes stay unique: each length's block is a
// bijection of its own range, and blocks differ in length.

export const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ'
const BASE = BigInt(ALPHABET.length)
/** The shortest code; shorter codes would run out within a busy store's first days. */
export const MIN_LENGTH = 4
/** The longest code parse() accepts: 30^12 numbers per store is beyond any counter. */
export const MAX_LENGTH = 12

/** Characters people write for a symbol of the alphabet that is not there, and why it is refused. */
const CONFUSABLE: Record<string, string> = {
  '0': 'zero', O: 'the letter O', '1': 'one', I: 'the letter I', L: 'the letter L', U: 'the letter U',
}

/** A typed order number that cannot be one; `reason` says why, for the person who typed it. */
export class OrderNumberError extends Error {
  constructor(readonly text: string, readonly reason: string) {
    super(`"${text.slice(0, 40)}" is not an order number: ${reason}`)
    this.name = 'OrderNumberError'
  }
}

interface Block { length: number; first: bigint; size: bigint; multiplier: bigint; inverse: bigint; offset: bigint }

const blocks: Block[] = []

/** The codes of one length: counters [first, first + size) and the bijection spreading them. */
function block(length: number): Block {
  while (blocks.length <= length - MIN_LENGTH) {
    const at = blocks.length + MIN_LENGTH
    const previous = blocks[blocks.length - 1]
    const size = BASE ** BigInt(at)
    // Near size × (golden ratio - 1): consecutive counters land far apart in the block.
    let multiplier = (size * 618_034n) / 1_000_000n
    while (gcd(multiplier, size) !== 1n) multiplier++
    blocks.push({
      length: at, size, multiplier, inverse: modInverse(multiplier, size), offset: size / 3n,
      first: previous ? previous.first + previous.size : 1n,
    })
  }
  return blocks[length - MIN_LENGTH]
}

/** The code of a store's `counter`-th order (1 for its first). */
export function encode(counter: number): string {
  if (!Number.isSafeInteger(counter) || counter < 1) throw new RangeError(`an order counter is a whole number from 1, not ${counter}`)
  const n = BigInt(counter)
  let b = block(MIN_LENGTH)
  while (n >= b.first + b.size) b = block(b.length + 1)
  let value = ((n - b.first) * b.multiplier + b.offset) % b.size
  let code = ''
  for (let i = 0; i < b.length; i++) {
    code = ALPHABET[Number(value % BASE)] + code
    value /= BASE
  }
  return code
}

/** The counter a well-formed code was made from: encode(decode(code)) === code. */
export function decode(code: string): number {
  const canonical = parse(code)
  const b = block(canonical.length)
  let value = 0n
  for (const symbol of canonical) value = value * BASE + BigInt(ALPHABET.indexOf(symbol))
  const index = (((value - b.offset) % b.size + b.size) % b.size * b.inverse) % b.size
  return Number(b.first + index)
}

/**
 * A typed order number in its canonical form: case does not matter, and spaces and hyphens
 * people put between groups ("k7m2", "K7-M2") are dropped. Throws OrderNumberError for anything
 * else, naming the first character that cannot be in a number (0 O 1 I L U among them).
 */
export function parse(text: string): string {
  const canonical = text.replace(/[\s-]/g, '').toUpperCase()
  if (canonical.length === 0) throw new OrderNumberError(text, 'it is empty')
  for (const symbol of canonical) {
    if (ALPHABET.includes(symbol)) continue
    const name = CONFUSABLE[symbol]
    throw new OrderNumberError(text, name ? `order numbers never contain ${name}` : `"${symbol}" is not used in order numbers`)
  }
  if (canonical.length < MIN_LENGTH || canonical.length > MAX_LENGTH) {
    throw new OrderNumberError(text, `an order number has ${MIN_LENGTH} to ${MAX_LENGTH} characters`)
  }
  return canonical
}

/** Whether `text` is a well-formed order number (as parse() reads it). */
export function isWellFormed(text: string): boolean {
  try {
    parse(text)
    return true
  } catch (error) {
    if (error instanceof OrderNumberError) return false
    throw error
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** x with a·x ≡ 1 (mod m), for a prime to m (extended Euclid). */
function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r, oldS, s] = [a, m, 1n, 0n]
  while (r !== 0n) {
    const q = oldR / r
    ;[oldR, r] = [r, oldR - q * r]
    ;[oldS, s] = [s, oldS - q * s]
  }
  return ((oldS % m) + m) % m
}
