// `labsync relay --config FILE` and the command line, as real processes: every configuration or
// argument problem ends the process with exit code 2 and one line naming the problem; a valid
// file with hashed secrets starts a relay those secrets open.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LABSYNC, connect, synced, closed, startRelay, removeDir, tempDir } from '../helpers/relay.ts'

const dir = tempDir('labsync-config-test-')
test.after(() => removeDir(dir))

type Entry = Record<string, unknown>
interface Config {
  [setting: string]: unknown
  currency: string; timeZone: string; products: Entry[]; labs: Entry[]; fronts: Entry[]
  discounts: { scope: string; tiers: Entry[] }; admins: Entry[]
}

/** A configuration the relay accepts; each case below breaks one thing in it. */
const valid = (): Config => ({
  currency: 'JPY',
  timeZone: 'Asia/Tokyo',
  products: [{ id: 'L', name: 'L 89x127 mm', widthMm: 89, heightMm: 127, media: 'oe_photo-l_3.5x5in', price: 40 }],
  templates: [{ id: 'plain', name: 'No frame' }],
  labs: [{ id: 'lab-1', name: 'Central lab', key: 'lab-1-secret', price: { L: 35 } }],
  fronts: [{ id: 'store-1', name: 'Station store', lab: 'lab-1', fee: 100, roles: ['reception', 'delivery'] }],
  discounts: { scope: 'user', tiers: [{ within: 'P7D', amount: 200 }, { within: 'P1M', amount: 100 }] },
  admins: [{ name: 'root', token: 'admin-secret' }],
  limits: { imageBytes: 52428800 },
})

let fileCounter = 0
function configFile(content: string | object): string {
  const file = join(dir, `config-${++fileCounter}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

/** Runs `bin/labsync …` to its end (stopping a relay that starts) and reports how it ended. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LABSYNC, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => {
      stdout += c
      // A relay that started when it should not have: stop it, and let the assertions say so.
      if (/relay listening/.test(stdout)) child.kill('SIGTERM')
    })
    child.stderr.on('data', (c) => (stderr += c))
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`labsync ${args.join(' ')} still running after 15 s:\n${stdout}${stderr}`)) }, 15_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

const relayWith = (config: string) => run(['relay', '--host', '127.0.0.1', '--port', '0', '--data', join(dir, 'data'), '--config', config])

/** Exit 2, exactly one line on stderr, and that line matches every pattern. */
async function rejected(args: Promise<{ code: number | null; stdout: string; stderr: string }>, ...names: RegExp[]): Promise<void> {
  const { code, stdout, stderr } = await args
  assert.is(code, 2, `exit code (stderr: ${stderr}, stdout: ${stdout})`)
  const lines = stderr.split('\n').filter((line) => line.trim() !== '')
  assert.is(lines.length, 1, `one line on stderr, got:\n${stderr}`)
  for (const name of names) assert.match(lines[0], name)
  assert.not.match(stdout, /relay listening/)
}

const withConfig = (change: (c: Config) => void) => {
  const c = valid()
  change(c)
  return relayWith(configFile(c))
}

// ---------------------------------------------------------------- configuration errors

test('a config file that does not exist is named, exit 2', async () => {
  const missing = join(dir, 'no-such-config.json')
  await rejected(relayWith(missing), /no-such-config\.json/, /ENOENT|not found|cannot read/i)
})

test('a config file that is not JSON is named, exit 2', async () => {
  await rejected(relayWith(configFile('{"currency": "JPY",')), /JSON/)
})

test('a config with no products is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.products = [] }), /products/)
})

test('a negative product price is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.products[0].price = -40 }), /products\[0\]\.price/)
})

test('a product whose media is not a PWG self-describing size name is refused, naming it, exit 2', async () => {
  await rejected(withConfig((c) => { c.products[0].media = 'photo-L' }), /products\[0\]\.media/, /photo-L/, /PWG 5101\.1/)
})

test('a product whose media is another paper than its millimetres is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.products[0].media = 'na_5x7_5x7in' }), /products\[0\]\.media: na_5x7_5x7in is 127x177\.8 mm, not the product's 89x127 mm/)
})

test('a fractional product price is refused: amounts are whole minor units, exit 2', async () => {
  await rejected(withConfig((c) => { c.products[0].price = 40.5 }), /products\[0\]\.price/)
})

test('a malformed currency code is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.currency = 'yen!' }), /currency/)
})

test('a well-formed currency code that is not in ISO 4217 is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.currency = 'QQQ' }), /currency/, /QQQ/)
})

test('an unknown time zone is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.timeZone = 'Mars/Olympus_Mons' }), /timeZone/, /Mars\/Olympus_Mons/)
})

test('a product id that appears twice is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.products.push({ ...c.products[0], name: 'again' }) }), /products/, /"L"/)
})

test('a lab price for a product that does not exist is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.labs[0].price = { L: 35, A4: 500 } }), /labs\[0\]\.price/, /A4/)
})

test('a store pointing to a lab that does not exist is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.fronts[0].lab = 'lab-9' }), /fronts\[0\]\.lab/, /lab-9/)
})

test('a discount scope other than user, front or lab is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.discounts.scope = 'store' }), /discounts\.scope/, /store/)
})

test('a malformed ISO 8601 duration in a discount tier is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.discounts.tiers[0].within = '7D' }), /discounts\.tiers\[0\]\.within/, /7D/)
})

test('a lab key that is too short is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.labs[0].key = 'short' }), /labs\[0\]\.key/)
})

test('a sha256: secret that is not 64 hex digits is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.admins[0].token = `sha256:${'z'.repeat(64)}` }), /admins\[0\]\.token/, /sha256/)
})

test('an unknown top-level setting is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.colour = 'blue' }), /colour/)
})

test('a store role other than reception or delivery is refused, exit 2', async () => {
  await rejected(withConfig((c) => { c.fronts[0].roles = ['reception', 'pickup'] }), /fronts\[0\]\.roles/, /pickup/)
})

test('a config that is a JSON list instead of an object is refused, exit 2', async () => {
  await rejected(relayWith(configFile('[]')), /config/)
})

// ---------------------------------------------------------------- command line

test('a port above 65535 is refused, exit 2', async () => {
  await rejected(run(['relay', '--port', '99999', '--data', join(dir, 'data')]), /port/, /99999/)
})

test('an unknown flag is refused, exit 2', async () => {
  await rejected(run(['relay', '--verbose']), /--verbose/)
})

test('an unknown subcommand is refused, exit 2', async () => {
  await rejected(run(['serve']), /serve/)
})

test('labsync lab without its arguments exits non-zero', async () => {
  const { code } = await run(['lab'])
  assert.ok(code !== 0 && code !== null, `exit code ${code}`)
})

test('labsync admin without its arguments exits non-zero', async () => {
  const { code } = await run(['admin'])
  assert.ok(code !== 0 && code !== null, `exit code ${code}`)
})

// ---------------------------------------------------------------- a valid config

const ADMIN_TOKEN = 'a-long-admin-token-for-tests'
const hashed = () => {
  const c = valid()
  c.admins = [{ name: 'root', token: `sha256:${createHash('sha256').update(ADMIN_TOKEN).digest('hex')}` }]
  return c
}

test('a valid config starts a relay that prints "relay listening on http://127.0.0.1:<port>"', async () => {
  const relay = await startRelay({ config: hashed() })
  try {
    assert.match(relay.output(), /^relay listening on http:\/\/127\.0\.0\.1:\d+$/m)
    assert.is((await fetch(`${relay.url}/healthz`)).status, 200)
  } finally {
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

test('an admin token given as sha256:<hex> opens the catalog with the token whose hash it is', async () => {
  const relay = await startRelay({ config: hashed() })
  const { doc, provider } = connect(relay, 'catalog', ADMIN_TOKEN)
  try {
    await synced(provider)
    assert.equal((doc.getMap('catalog').get('products') as Array<{ id: string }>).map((p) => p.id), ['L'])
  } finally {
    provider.destroy()
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

test('the sha256:<hex> text itself is not a token', async () => {
  const c = hashed()
  const relay = await startRelay({ config: c })
  const { provider } = connect(relay, 'catalog', c.admins[0].token as string)
  try {
    assert.is((await closed(provider)).code, 4401)
  } finally {
    provider.destroy()
    await relay.stop()
    removeDir(relay.dataDir)
  }
})

test.run()
