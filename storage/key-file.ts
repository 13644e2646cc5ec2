// An Ed25519 signing key made on first start and kept in its own file beside the database
// (mode 0600): the relay's signs session tokens, a lab node's signs in-store stamps. A copy of a
// database alone therefore signs nothing.
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { keyPairFromPem, newKeyPair, privateKeyPem, type KeyPair } from '../shared/signing.ts'

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
