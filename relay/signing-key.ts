// The relay's Ed25519 signing key: made on first start, kept in its own file beside the
// database (mode 0600), so a copy of the database alone still signs nobody in anywhere.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { keyPairFromPem, newKeyPair, privateKeyPem, type KeyPair } from '../shared/signing.ts'

export const SIGNING_KEY_FILE = 'relay-signing-key.pem'

export function loadOrCreateSigningKey(dataDir: string): KeyPair {
  const file = join(dataDir, SIGNING_KEY_FILE)
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
      throw new Error(`${file} is not a usable Ed25519 private key (${(error as Error).message}); restore it or remove it to make a new one (every customer then signs in again at lab nodes)`)
    }
  }
  const pair = newKeyPair()
  const temporary = `${file}.${process.pid}.tmp`
  const fd = openSync(temporary, 'wx', 0o600)
  try {
    writeSync(fd, privateKeyPem(pair))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temporary, file)
  return pair
}
