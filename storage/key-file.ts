// An Ed25519 signing key made on first start and kept in its own file beside the database
// (mode 0600): the relay's signs session tokens, a lab node's signs in-store stamps. A copy of a
// database alone therefore signs nothing. Or one key given by the operator (--signing-key), shared
// by every relay of a cluster so that each accepts the others' tokens.
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../shared/errors.ts'
import { keyPairFromPem, newKeyPair, privateKeyPem, type KeyPair } from '../shared/signing.ts'

/**
 * The operator's signing key file (--signing-key): a PEM Ed25519 private key readable by its
 * owner alone. Anything else is refused with one line (ConfigError, exit 2): a missing or
 * unreadable file, group or other permission bits (a key others can read signs for them too),
 * or a file that is not an Ed25519 private key. Never created: relays sharing a key must be given it.
 */
export function loadSigningKeyFile(file: string, flag = '--signing-key'): KeyPair {
  let pem: string
  let mode: number
  try {
    mode = statSync(file).mode
    pem = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ConfigError(`${flag} "${file}" cannot be read (${code})`)
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${flag} "${file}" is readable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`)
  }
  try {
    return keyPairFromPem(pem)
  } catch (error) {
    throw new ConfigError(`${flag} "${file}" is not a PEM Ed25519 private key (${(error as Error).message.split('\n')[0]})`)
  }
}

export const SIGNING_KEY_FILE = 'relay-signing-key.pem'

export function loadOrCreateSigningKey(dataDir: string, fileName = SIGNING_KEY_FILE): KeyPair {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, fileName)
  let pem: string | null = null
  try {
    pem = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (pem !== null) {
    try {
      return keyPairFromPem(pem)
    } catch (error) {
      throw new Error(`${file} is not a usable Ed25519 private key (${(error as Error).message}); restore it, or remove it to make a new one`)
    }
  }
  const pair = newKeyPair()
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    writeSync(fd, privateKeyPem(pair))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temporary, file)
  const dir = openSync(dataDir, 'r') // the rename itself survives a power cut only once the directory is synced
  try { fsyncSync(dir) } finally { closeSync(dir) }
  return pair
}
