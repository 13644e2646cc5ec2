// Text a lab node sent, as PostgreSQL can hold it: PostgreSQL text and jsonb refuse NUL and lone
// UTF-16 surrogates (SQLite keeps them), and one such character must not make a whole report or
// heartbeat fail on a cluster, again at every retry. Both become U+FFFD, as a decoder would show them.
export function pgText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD')
}

/** pgText on every string inside `value` (plain JSON data: arrays, objects, strings, numbers). */
export function pgTexts<T>(value: T): T {
  if (typeof value === 'string') return pgText(value) as T
  if (Array.isArray(value)) return value.map(pgTexts) as T
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [pgText(key), pgTexts(inner)])) as T
  return value
}
