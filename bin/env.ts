// The commands' environment knobs (relay/main.ts, lab-node/main.ts; listed in usage.ts): read once at
// start, a bad value refused with a ConfigError (exit 2) naming the variable.
import { ConfigError } from '../shared/errors.ts'

/** The whole number above 0 that `name` holds; undefined when it is unset or empty. */
export function envWholeNumber(name: string): number | undefined {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}: "${value}" is not a whole number above 0`)
  return n
}
