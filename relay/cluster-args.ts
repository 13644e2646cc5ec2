// Cluster mode from the command line: --store, --fanout and --images (or their environment
// variables) checked together into ClusterOptions, and the passwords in their URLs kept out of
// every line the relay prints.
import { ConfigError } from '../shared/errors.ts'
import { imagesDirProblem } from '../storage/postgres/image-bytes-dir.ts'
import type { ClusterOptions } from './stores.ts'

/** A value given as a flag or by its environment variable; `from` names which, for messages. */
export interface Given { value: string; from: string }

export interface ClusterArgs {
  store?: Given | null
  fanout?: Given | null
  images?: Given | null
  /** Whether --signing-key (or LABSYNC_SIGNING_KEY) was given. */
  signingKey: boolean
}

/** --images postgres, the default: photos in PostgreSQL, cached under each relay's --data. Any other value is a directory. */
export const IMAGES_IN_POSTGRES = 'postgres'

/**
 * null without --store (one machine, SQLite). With it: ConfigError naming what is missing or
 * wrong, one line, the URLs in it redacted. Checked before anything is opened or made under --data.
 */
export function clusterOptions(args: ClusterArgs): ClusterOptions | null {
  const { store, fanout, images } = args
  if (!store) {
    const stray = fanout ?? images
    if (stray) throw new ConfigError(`${stray.from} is for cluster mode: give --store postgres://… (or LABSYNC_STORE) too`)
    return null
  }
  const storeUrl = parsedUrl(store, ['postgres:', 'postgresql:'], 'postgres://USER:PASSWORD@HOST:PORT/DATABASE')
  if (!fanout) throw new ConfigError(`cluster mode (${store.from}) needs --fanout redis://… (or LABSYNC_FANOUT): without it relays do not hear each other's writes`)
  const fanoutUrl = parsedUrl(fanout, ['redis:', 'rediss:'], 'redis://[:PASSWORD@]HOST:PORT')
  if (!args.signingKey) throw new ConfigError(`cluster mode (${store.from}) needs --signing-key FILE (or LABSYNC_SIGNING_KEY), one key for every relay: a key made per relay under --data makes relays refuse each other's tokens`)
  return { store: storeUrl, fanout: fanoutUrl, images: imagesPlace(images) }
}

/**
 * --images: postgres (also when not given), or a directory every relay mounts. A directory that
 * cannot hold the photos is refused here, before anything is opened, like any other bad argument.
 */
function imagesPlace(images: Given | null | undefined): ClusterOptions['images'] {
  if (!images || images.value === IMAGES_IN_POSTGRES) return IMAGES_IN_POSTGRES
  const problem = imagesDirProblem(images.value)
  // Redacted: a bucket's URL given by mistake (s3://KEY:SECRET@…) may hold a secret.
  if (problem) throw new ConfigError(`${images.from} "${redact(images.value)}" ${problem}; give "${IMAGES_IN_POSTGRES}" or a directory every relay mounts`)
  return { dir: images.value }
}

function parsedUrl(given: Given, protocols: string[], shape: string): string {
  let url: URL | null = null
  try { url = new URL(given.value) } catch { /* reported below */ }
  if (!url || !protocols.includes(url.protocol) || !url.hostname) {
    throw new ConfigError(`${given.from} "${redact(given.value)}" is not a ${shape} URL`)
  }
  return given.value
}

/** `url` with the password of its credentials (USER:PASSWORD@, or :PASSWORD@ for Redis) as ***. */
export function redact(url: string): string {
  // Not through new URL(): a URL that does not parse may still hold a password.
  return url.replace(CREDENTIALS, (whole, scheme: string, user: string, password: string | undefined) =>
    password === undefined ? whole : `${scheme}${user}:***@`)
}

const CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^:@/?#]*)(?::([^@/?#]*))?@/i

/**
 * `text` with every password of `urls` replaced by ***: for messages the relay did not write
 * itself (a driver's error may quote the URL it was given).
 */
export function redactSecrets(text: string, urls: readonly string[]): string {
  let out = text
  for (const url of urls) {
    out = out.split(url).join(redact(url))
    for (const secret of secretsOf(url)) out = out.split(secret).join('***')
  }
  return out
}

/** The password in a URL's credentials, as written and percent-decoded (a driver may quote either). */
function secretsOf(url: string): string[] {
  const password = CREDENTIALS.exec(url)?.[3]
  if (!password) return []
  let decoded = password
  try { decoded = decodeURIComponent(password) } catch { /* kept as written */ }
  return [...new Set([password, decoded])]
}
