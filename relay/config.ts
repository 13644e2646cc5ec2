// The relay's configuration: the JSON file of SPEC.md, validated at start (each problem one
// clear line), secrets kept only as sha256 hashes, and the demo catalog used without a file.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError } from '../shared/errors.ts'
import { parseDuration, PeriodError } from '../shared/period.ts'
import type { Catalog, DiscountRules, Front, LabInfo, Product, Template } from '../shared/schema.ts'
import { ID_PATTERN } from '../shared/schema.ts'
import * as media from '../shared/media.ts'
import { DEFAULT_LIMITS, LIMIT_FLOORS, type CountLimit, type Limits } from '../shared/limits.ts'

export { DEFAULT_LIMITS, type Limits }

export interface LabConfig extends LabInfo { keyHash: string }
export interface AdminConfig { name: string; tokenHash: string }

export interface RelayConfig {
  currency: string
  timeZone: string
  products: Product[]
  templates: Template[]
  labs: LabConfig[]
  fronts: Front[]
  discounts: DiscountRules
  admins: AdminConfig[]
  limits: Limits
}

export const DEMO_CONFIG = {
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [
    { id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 },
    { id: '4x6', name: 'Postcard 102x152 mm', widthMm: 102, heightMm: 152, media: 'na_index-4x6_4x6in', price: 60 },
    { id: '5x7', name: '2L 127x178 mm', widthMm: 127, heightMm: 178, media: 'na_5x7_5x7in', price: 120 },
  ],
  templates: [{ id: 'plain', name: 'No frame' }, { id: 'white-border', name: 'White border' }],
  labs: [{ id: 'demo-lab', name: 'Demo lab', key: 'demo-lab-key', price: { L: 35 } }],
  // `npm start` runs the demo lab node's in-store server here (when the port is free).
  fronts: [{ id: 'demo-store', name: 'Demo store', lab: 'demo-lab', fee: 100, roles: ['reception', 'delivery'], lanUrl: 'ws://127.0.0.1:8090' }],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] },
  admins: [{ name: 'admin', token: 'demo-admin-token' }],
  limits: { imageBytes: 50 * 1024 * 1024 },
}

/** Reads and validates a config file; throws ConfigError with one line naming the problem. */
export function loadConfigFile(path: string): RelayConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`config ${path} is not valid JSON: ${(error as Error).message}`)
  }
  return parseConfig(json)
}

/** sha256 hex of a secret, or the hash itself when the config already gives `sha256:<hex>`. */
export function secretHash(secret: string): string {
  const prefixed = /^sha256:([0-9a-f]{64})$/i.exec(secret)
  return prefixed ? prefixed[1].toLowerCase() : createHash('sha256').update(secret).digest('hex')
}

export function parseConfig(json: unknown): RelayConfig {
  const root = object(json, 'the file')
  const currency = string(root.currency ?? 'JPY', 'currency')
  if (!Intl.supportedValuesOf('currency').includes(currency)) fail(`currency: "${currency}" is not an ISO 4217 code`)
  const timeZone = string(root.timeZone ?? 'UTC', 'timeZone')
  try { new Intl.DateTimeFormat('en', { timeZone }) } catch { fail(`timeZone: "${timeZone}" is not an IANA time zone`) }
  const products = parseProducts(root.products)
  const templates = list(root.templates ?? [{ id: 'plain', name: 'No frame' }], 'templates', (t, at): Template => ({
    id: id(t.id, `${at}.id`), name: string(t.name, `${at}.name`),
    ...(t.preview === undefined ? {} : { preview: string(t.preview, `${at}.preview`) }),
  }))
  unique(templates, 'templates')
  const labs = parseLabs(root.labs, new Set(products.map((p) => p.id)))
  const fronts = parseFronts(root.fronts, new Set(labs.map((l) => l.id)))
  const discounts = parseDiscounts(root.discounts)
  const admins = list(root.admins ?? [], 'admins', (a, at): AdminConfig => ({
    name: string(a.name, `${at}.name`), tokenHash: secretHash(secret(a.token, `${at}.token`)),
  }))
  assertDistinctSecrets(labs, admins)
  const limits = parseLimits(object(root.limits ?? {}, 'limits'))
  const known = new Set(['currency', 'timeZone', 'products', 'templates', 'labs', 'fronts', 'discounts', 'admins', 'limits'])
  for (const key of Object.keys(root)) if (!known.has(key)) fail(`${key}: unknown setting`)
  return { currency, timeZone, products, templates, labs, fronts, discounts, admins, limits }
}

function parseProducts(json: unknown): Product[] {
  const products = list(json, 'products', (p, at): Product => {
    const product = {
      id: id(p.id, `${at}.id`), name: string(p.name, `${at}.name`),
      widthMm: positive(p.widthMm, `${at}.widthMm`), heightMm: positive(p.heightMm, `${at}.heightMm`),
      media: string(p.media, `${at}.media`), price: amount(p.price, `${at}.price`),
    }
    checkMedia(product, at)
    return product
  })
  if (products.length === 0) fail('products: at least one product is needed')
  unique(products, 'products')
  return products
}

/**
 * The paper a product prints on is its media's PWG 5101.1 self-describing name (the lab sizes the
 * print file from it, exactly); the millimetres shown to customers must be that paper's, within 1 mm.
 */
function checkMedia(product: Pick<Product, 'media' | 'widthMm' | 'heightMm'>, at: string): void {
  let size: media.MediaSize
  try {
    size = media.parse(product.media)
  } catch (error) {
    if (error instanceof media.MediaNameError) fail(`${at}.media: ${error.message}`)
    throw error
  }
  const [w, h] = [media.millimetres(size.width), media.millimetres(size.height)].sort((a, b) => a - b)
  const [pw, ph] = [product.widthMm, product.heightMm].sort((a, b) => a - b)
  if (Math.abs(w - pw) > 1 || Math.abs(h - ph) > 1) {
    fail(`${at}.media: ${product.media} is ${round1(w)}x${round1(h)} mm, not the product's ${pw}x${ph} mm`)
  }
}

const round1 = (mm: number) => Math.round(mm * 10) / 10

function parseLabs(json: unknown, productIds: Set<string>): LabConfig[] {
  const labs = list(json, 'labs', (l, at): LabConfig => {
    const price = object(l.price ?? {}, `${at}.price`)
    for (const [product, value] of Object.entries(price)) {
      if (!productIds.has(product)) fail(`${at}.price: unknown product "${product}"`)
      amount(value, `${at}.price.${product}`)
    }
    const lab: LabConfig = { id: id(l.id, `${at}.id`), name: string(l.name, `${at}.name`), keyHash: secretHash(secret(l.key, `${at}.key`)), price: price as Record<string, number> }
    if (l.discounts !== undefined) lab.discounts = parseDiscounts(l.discounts, `${at}.discounts`)
    return lab
  })
  if (labs.length === 0) fail('labs: at least one lab is needed')
  unique(labs, 'labs')
  return labs
}

function parseFronts(json: unknown, labIds: Set<string>): Front[] {
  const fronts = list(json, 'fronts', (f, at): Front => {
    const lab = string(f.lab, `${at}.lab`)
    if (!labIds.has(lab)) fail(`${at}.lab: unknown lab "${lab}"`)
    const roles = list(f.roles ?? ['reception', 'delivery'], `${at}.roles`, (r, rat) => r, true) as unknown[]
    for (const role of roles) if (role !== 'reception' && role !== 'delivery') fail(`${at}.roles: "${String(role)}" is neither "reception" nor "delivery"`)
    const front: Front = { id: id(f.id, `${at}.id`), name: string(f.name, `${at}.name`), lab, fee: amount(f.fee ?? 0, `${at}.fee`), roles: roles as Front['roles'] }
    if (f.lanUrl !== undefined) {
      const lanUrl = string(f.lanUrl, `${at}.lanUrl`)
      if (!/^wss?:\/\/[^/\s]+/.test(lanUrl)) fail(`${at}.lanUrl: "${lanUrl}" is not a ws:// or wss:// URL`)
      front.lanUrl = lanUrl
    }
    if (f.discounts !== undefined) front.discounts = parseDiscounts(f.discounts, `${at}.discounts`, 'front')
    for (const key of ['address', 'hours', 'payment'] as const) {
      if (f[key] !== undefined) front[key] = bounded(f[key], `${at}.${key}`, FRONT_TEXT_MAX)
    }
    return front
  })
  if (fronts.length === 0) fail('fronts: at least one store is needed')
  unique(fronts, 'fronts')
  return fronts
}

/** Address, hours and how to pay: a few lines a customer reads, never a page. */
const FRONT_TEXT_MAX = 500

/**
 * Discount rules: the catalog's and a lab's (`at` = discounts or labs[i].discounts) deduct from the
 * lab's charge; a store's (`only` = 'front') from its fee, scoped to that store whatever it says.
 */
function parseDiscounts(json: unknown, at = 'discounts', only?: 'front'): DiscountRules {
  const d = object(json ?? { scope: only ?? 'user', tiers: [] }, at)
  const scope = d.scope ?? only ?? 'user'
  if (scope !== 'user' && scope !== 'front' && scope !== 'lab') fail(`${at}.scope: "${String(scope)}" is not user, front or lab`)
  if (only && scope !== only) fail(`${at}.scope: a store's own discount is for its own repeat customers ("${only}"), not "${String(scope)}"`)
  const tiers = list(d.tiers ?? [], `${at}.tiers`, (t, tat) => {
    const within = string(t.within, `${tat}.within`)
    try { parseDuration(within) } catch (error) { fail(`${tat}.within: ${(error as PeriodError).message}`) }
    return { within, amount: amount(t.amount, `${tat}.amount`) }
  })
  const rules: DiscountRules = { scope, tiers }
  if (d.minSubtotal !== undefined) rules.minSubtotal = amount(d.minSubtotal, `${at}.minSubtotal`)
  return rules
}

/** One secret must name one principal: a lab key equal to an admin token would make that lab an admin. */
function assertDistinctSecrets(labs: LabConfig[], admins: AdminConfig[]): void {
  const secrets = [...labs.map((l) => ({ hash: l.keyHash, at: `lab ${l.id}` })), ...admins.map((a) => ({ hash: a.tokenHash, at: `admin ${a.name}` }))]
  for (let i = 0; i < secrets.length; i++) {
    for (let j = i + 1; j < secrets.length; j++) if (secrets[i].hash === secrets[j].hash) fail(`${secrets[i].at} and ${secrets[j].at} have the same secret`)
  }
}

function parseLimits(json: Json): Limits {
  const limits = { ...DEFAULT_LIMITS }
  for (const [key, value] of Object.entries(json)) {
    if (!(key in DEFAULT_LIMITS)) fail(`limits.${key}: unknown limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`)
    if (key === 'photoWait') {
      limits.photoWait = duration(value, 'limits.photoWait')
      continue
    }
    const name = key as CountLimit
    const floor = LIMIT_FLOORS[name]
    if (!Number.isSafeInteger(value) || (value as number) < floor) fail(`limits.${key}: expected a whole number, at least ${floor}`)
    limits[name] = value as number
  }
  // A socket must be able to take one whole document, or a reader could never finish its sync.
  const largestDoc = Math.max(limits.orderDocBytes, limits.userDocBytes)
  if (limits.socketBufferBytes < largestDoc * 2) fail(`limits.socketBufferBytes: at least twice the largest document limit (${largestDoc * 2})`)
  if (limits.connections < limits.connectionsPerAddress) fail('limits.connections: at least limits.connectionsPerAddress')
  return limits
}

/** What the `catalog` document shows everyone signed in: the config without secrets. */
export function publicCatalog(config: RelayConfig): Catalog {
  return {
    currency: config.currency,
    timeZone: config.timeZone,
    products: config.products,
    templates: config.templates,
    labs: config.labs.map(({ id, name, price, discounts }) => (discounts ? { id, name, price, discounts } : { id, name, price })),
    fronts: config.fronts,
    discounts: config.discounts,
  }
}

// ---------------------------------------------------------------- field checks

type Json = Record<string, unknown>

function fail(message: string): never {
  throw new ConfigError(`config: ${message}`)
}
function object(value: unknown, at: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${at}: expected an object`)
  return value as Json
}
function string(value: unknown, at: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${at}: expected a non-empty string`)
  return value
}
function secret(value: unknown, at: string): string {
  const text = string(value, at)
  if (!text.startsWith('sha256:') && text.length < 8) fail(`${at}: a secret needs at least 8 characters (or sha256:<hex>)`)
  if (text.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/i.test(text)) fail(`${at}: sha256: must be followed by 64 hex digits`)
  return text
}
function id(value: unknown, at: string): string {
  const text = string(value, at)
  if (!ID_PATTERN.test(text)) fail(`${at}: "${text}" may use only letters, digits, - and _ (at most 64)`)
  return text
}
function amount(value: unknown, at: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(`${at}: expected a whole amount in minor units, 0 or more`)
  return value as number
}
/** An ISO 8601 duration of at least one second (P7D, PT2S): a zero wait would refuse every offline order. */
function duration(value: unknown, at: string): string {
  const text = string(value, at)
  let parsed
  try { parsed = parseDuration(text) } catch (error) { fail(`${at}: ${(error as PeriodError).message}`) }
  if (Object.values(parsed).every((part) => part === 0)) fail(`${at}: must be longer than zero`)
  return text
}
function bounded(value: unknown, at: string, max: number): string {
  const text = string(value, at)
  if (text.length > max) fail(`${at}: at most ${max} characters`)
  return text
}
function positive(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${at}: expected a number above 0`)
  return value
}
function list<T>(value: unknown, at: string, each: (item: Json, at: string) => T, scalars = false): T[] {
  if (!Array.isArray(value)) fail(`${at}: expected a list`)
  return value.map((item, i) => each(scalars && (typeof item !== 'object' || item === null) ? (item as Json) : object(item, `${at}[${i}]`), `${at}[${i}]`))
}
function unique(items: Array<{ id: string }>, at: string): Set<string> {
  const ids = new Set<string>()
  for (const item of items) {
    if (ids.has(item.id)) fail(`${at}: id "${item.id}" appears twice`)
    ids.add(item.id)
  }
  return ids
}
