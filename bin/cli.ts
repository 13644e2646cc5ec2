// Parses `labsync relay|lab|admin …` and calls into relay/, lab-node/ or the admin client.
// Bad arguments: one line naming the problem, exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { ConfigError } from '../shared/errors.ts'

const USAGE = `usage:
  labsync relay [--host H] [--port P] [--data DIR] [--config FILE] [--fresh]
  labsync lab --relay URL --lab ID --key KEY --printer URI [--data DIR] [--templates DIR]
              [--history-interval SECONDS] [--auto] [--listen H:P [--tls-cert PEM --tls-key PEM]]
  labsync admin receipts|history|labs|audit --relay URL --token T [--lab ID] [--user ID] [--front ID]
              [--status S] [--since ISO] [--until ISO] [--format table|csv|json] [--limit N]`

const RELAY_HELP = `usage: labsync relay [--host H] [--port P] [--data DIR] [--config FILE] [--fresh]
  --host H       address to listen on (default 127.0.0.1)
  --port P       port to listen on; 0 picks a free one (default 8080)
  --data DIR     where relay.sqlite, the signing key and photos live (default ./data)
  --config FILE  the relay's JSON configuration (default: the demo catalog)
  --fresh        start although relay.sqlite is missing or empty in a data dir a relay used before
                 (signing key, photos): begins with an empty database and restores nothing
At start the relay refuses (exit 2) a missing or empty database in a used data dir without
--fresh, a file that is not a SQLite database, and one PRAGMA quick_check finds damaged (checked
when the last run did not shut down cleanly or the file changed since).`

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as { values: Record<string, string | boolean | undefined>; positionals: string[] }
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0])
  }
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`--port: "${value}" is not a port number (0-65535)`)
  return n
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'relay': return relayCommand(rest)
    case 'lab': return labCommand(rest)
    case 'admin': {
      const { runAdmin } = await import('../admin/cli.ts')
      process.exitCode = await runAdmin(rest)
      return
    }
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE)
      if (command === undefined) process.exit(2)
      break
    default:
      throw new ConfigError(`unknown command "${command}" (relay, lab or admin)`)
  }
}

async function relayCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    host: { type: 'string' }, port: { type: 'string' }, data: { type: 'string' }, config: { type: 'string' },
    fresh: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return console.log(RELAY_HELP)
  if (positionals.length) throw new ConfigError(`relay: unexpected argument "${positionals[0]}"`)
  const { runRelay } = await import('../relay/main.ts')
  return runRelay({
    host: (values.host as string | undefined) ?? '127.0.0.1',
    port: port(values.port as string | undefined, 8080),
    data: (values.data as string | undefined) ?? './data',
    config: (values.config as string | undefined) ?? null,
    fresh: Boolean(values.fresh),
  })
}

async function labCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    relay: { type: 'string' }, lab: { type: 'string' }, key: { type: 'string' }, printer: { type: 'string' },
    data: { type: 'string' }, templates: { type: 'string' }, 'history-interval': { type: 'string' },
    auto: { type: 'boolean' }, listen: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
  })
  if (positionals.length) throw new ConfigError(`lab: unexpected argument "${positionals[0]}"`)
  for (const required of ['relay', 'lab', 'key', 'printer'] as const) {
    if (!values[required]) throw new ConfigError(`lab: --${required} is required`)
  }
  const relay = values.relay as string
  let relayUrl: URL | null = null
  try { relayUrl = new URL(relay) } catch { /* reported below */ }
  if (!relayUrl || !/^https?:$/.test(relayUrl.protocol) || !/^https?:\/\/[^/\s]+/.test(relay)) throw new ConfigError(`lab: --relay "${relay}" is not an http:// or https:// URL`)
  const printer = values.printer as string
  if (!/^(ipps?:\/\/[^/\s]+|file:.+)/i.test(printer)) throw new ConfigError(`lab: --printer "${printer}" is neither ipp://HOST/PATH, ipps://… nor file:DIR`)
  const interval = Number(values['history-interval'] ?? 60)
  if (!Number.isFinite(interval) || interval <= 0) throw new ConfigError(`lab: --history-interval "${String(values['history-interval'])}" is not a number of seconds above 0`)
  const listen = values.listen === undefined ? null : listenAddress(values.listen as string)
  const tls = values['tls-cert'] !== undefined || values['tls-key'] !== undefined ? tlsFiles(values, listen) : null
  const { runLab } = await import('../lab-node/main.ts')
  return runLab({
    relay, lab: values.lab as string, key: values.key as string, printer,
    data: (values.data as string | undefined) ?? './data/lab',
    templates: (values.templates as string | undefined) ?? null,
    historyIntervalSeconds: interval,
    auto: Boolean(values.auto),
    listen,
    tls,
  })
}

/** --listen HOST:PORT (an IPv6 host in brackets). */
function listenAddress(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new ConfigError(`lab: --listen "${value}" is not HOST:PORT (e.g. 0.0.0.0:8090; port 0 picks a free one)`)
  return { host: match[1].replace(/^\[|\]$/g, ''), port }
}

/** The PEM files of --tls-cert and --tls-key, read and checked to make a TLS context together. */
function tlsFiles(values: Record<string, string | boolean | undefined>, listen: { host: string; port: number } | null): { cert: string; key: string } {
  if (!listen) throw new ConfigError('lab: --tls-cert and --tls-key are for the in-store server: give --listen too')
  if (!values['tls-cert'] || !values['tls-key']) throw new ConfigError('lab: --tls-cert and --tls-key go together')
  const read = (flag: 'tls-cert' | 'tls-key') => {
    try {
      return readFileSync(values[flag] as string, 'utf8')
    } catch (error) {
      throw new ConfigError(`lab: --${flag} "${String(values[flag])}" cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
  }
  const tls = { cert: read('tls-cert'), key: read('tls-key') }
  try {
    createSecureContext(tls)
  } catch (error) {
    throw new ConfigError(`lab: --tls-cert/--tls-key are not a usable PEM certificate and private key (${(error as Error).message})`)
  }
  return tls
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof ConfigError) {
    console.error(`labsync: ${error.message}`)
    process.exit(2)
  }
  console.error(error)
  process.exit(1)
})
