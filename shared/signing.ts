// Ed25519 signatures that let a lab node trust the relay, and the relay trust a lab node, while
// the link between them is down: the relay signs customers' session tokens, a lab node signs
// the "received in store" stamps it writes into orders. Node only (node:crypto); the PWA never
// verifies anything, it carries tokens and stamps as opaque values.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'

/** An Ed25519 public key as a JSON Web Key (RFC 8037), the form the catalog publishes. */
export interface PublicJwk { kty: 'OKP'; crv: 'Ed25519'; x: string }

export interface KeyPair {
  privateKey: KeyObject
  publicJwk: PublicJwk
  /** A short, stable name for the public key: the first 16 hex digits of its sha256. */
  keyId: string
}

export function newKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519')
  return keyPairFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
}

export function keyPairFromPem(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem)
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the signing key is not an Ed25519 key')
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as unknown as PublicJwk
  return { privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }, keyId: keyIdOf(publicJwk) }
}

export const privateKeyPem = (pair: KeyPair): string => pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string

export function keyIdOf(jwk: PublicJwk): string {
  return createHash('sha256').update(jwk.x).digest('hex').slice(0, 16)
}

/** The public key of a JWK, or null when it is not a well-formed Ed25519 key. */
export function publicKeyOf(jwk: unknown): KeyObject | null {
  const candidate = jwk as Partial<PublicJwk> | null
  if (!candidate || candidate.kty !== 'OKP' || candidate.crv !== 'Ed25519' || typeof candidate.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(candidate.x)) return null
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: candidate.x }, format: 'jwk' })
  } catch {
    return null
  }
}

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url')

// ---------------------------------------------------------------- session tokens

/** What a signed session token says: whose session, which one (for revocation), until when. */
export interface TokenClaims {
  /** The customer's user id. */
  sub: string
  /** The session id: what a revocation names. */
  sid: string
  /** Expiry, epoch milliseconds. */
  exp: number
}

const TOKEN_PREFIX = 'ls1'

/** `ls1.<claims>.<signature>`, all base64url: readable by anyone, forgeable by nobody. */
export function signToken(claims: TokenClaims, key: KeyPair): string {
  const body = `${TOKEN_PREFIX}.${b64(JSON.stringify(claims))}`
  return `${body}.${b64(sign(null, Buffer.from(body), key.privateKey))}`
}

/** The claims of a token signed by `publicKey`, or null for any other string. Expiry is the caller's to check. */
export function verifyToken(token: string, publicKey: KeyObject): TokenClaims | null {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || token.length > 512) return null
  const body = `${parts[0]}.${parts[1]}`
  let valid = false
  try {
    valid = verify(null, Buffer.from(body), publicKey, Buffer.from(parts[2], 'base64url'))
  } catch {
    return null
  }
  if (!valid) return null
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<TokenClaims>
    if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') return null
    return { sub: claims.sub, sid: claims.sid, exp: claims.exp }
  } catch {
    return null
  }
}

// ---------------------------------------------------------------- in-store reception stamps

/**
 * What a lab node writes into an order (`Y.Map instore`) when a customer submits it through the
 * lab node in the store: which lab and store received it, when by the lab node's clock
 * (corrected by the offset it last measured against the relay), and its signature over all of
 * that and the order, its customer and its contents (specDigest), so the stamp cannot be moved to
 * another order or customer, nor kept while the order is changed.
 */
export interface InStoreStamp {
  lab: string
  front: string
  receivedAt: string
  /** specDigest() of the order as submitted: the stamp holds for that order's contents only. */
  spec: string
  /** Id of the lab node's public key, registered at the relay (POST /api/labs/keys). */
  key: string
  sig: string
}

const stampMessage = (order: string, user: string, s: Omit<InStoreStamp, 'sig'>): Buffer =>
  Buffer.from(['labsync-instore-v1', order, user, s.front, s.lab, s.receivedAt, s.spec, s.key].join('\n'))

/** What a submitted order is, in a few bytes: sha256 of its spec's fields in a fixed order. */
export function specDigest(spec: { id?: unknown; user?: unknown; front?: unknown; createdAt?: unknown; items?: unknown }): string {
  const items = Array.isArray(spec.items) ? spec.items as Array<Record<string, unknown>> : []
  const canonical = [spec.id, spec.user, spec.front, spec.createdAt,
    items.map((item) => [item.image, item.product, item.qty, item.template ?? null])]
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32)
}

export function signStamp(order: string, user: string, fields: Omit<InStoreStamp, 'sig' | 'key'>, key: KeyPair): InStoreStamp {
  const unsigned = { ...fields, key: key.keyId }
  return { ...unsigned, sig: b64(sign(null, stampMessage(order, user, unsigned), key.privateKey)) }
}

export function verifyStamp(order: string, user: string, stamp: InStoreStamp, publicKey: KeyObject): boolean {
  try {
    return verify(null, stampMessage(order, user, stamp), publicKey, Buffer.from(stamp.sig, 'base64url'))
  } catch {
    return false
  }
}

/** The stamp of an order document's `instore` map, or null when it is absent or not stamp-shaped. */
export function readStamp(map: { get(key: string): unknown }): InStoreStamp | null {
  const fields = ['lab', 'front', 'receivedAt', 'spec', 'key', 'sig'] as const
  const values = fields.map((field) => map.get(field))
  if (values.some((value) => typeof value !== 'string' || value.length === 0 || value.length > 200)) return null
  const [lab, front, receivedAt, spec, key, sig] = values as string[]
  return { lab, front, receivedAt, spec, key, sig }
}
