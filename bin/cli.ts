// Parses `labsync relay|lab|admin|help …` and calls into relay/, lab-node/ or the admin client.
// Each command's options are one table (bin/usage.ts) that makes both its parsing and its --help.
// Bad arguments: one line naming the problem, exit code 2.
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { ConfigError } from '../shared/errors.ts'
import { parseOptions, UsageError } from './options.ts'
import { HELP, LAB_HELP, LAB_OPTIONS, RELAY_HELP, RELAY_OPTIONS, USAGE } from './usage.ts'

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
    case 'help':
    case '-h':
    case '--help': {
      const topic = command === 'help' ? rest[0] : undefined
      if (topic === undefined) return console.log(USAGE)
      if (topic === 'admin') return main(['admin', '--help'])
      if (HELP[topic] === undefined) throw unknownCommand(topic)
      return console.log(HELP[topic])
    }
    case undefined:
      console.log(USAGE)
      process.exitCode = 2
      return
    default:
      throw unknownCommand(command)
  }
}

function unknownCommand(command: string): ConfigError {
  if (command.startsWith('-')) return new ConfigError(`unknown option ${command} (see labsync help)`)
  return new ConfigError(`unknown command "${command}" (relay, lab or admin; see labsync help)`)
}

async function relayCommand(argv: string[]): Promise<void> {
  const { values, positionals, help } = parseOptions('relay', argv, RELAY_OPTIONS)
  if (help) return console.log(RELAY_HELP)
  if (positionals.length) throw new UsageError('relay', `unexpected argument "${positionals[0]}"`)
  const { runRelay } = await import('../relay/main.ts')
  const given = (value: string, from: string) => ({ value, from })
  return runRelay({
    host: values.host ?? '127.0.0.1',
    port: port(values.port, 8080),
    data: values.data ?? './data',
    config: values.config ?? null,
    fresh: Boolean(values.fresh),
    signingKey: fromFlagOrEnv(values['signing-key'], 'signing-key', 'LABSYNC_SIGNING_KEY', (file, from) => ({ file, from })),
    trustProxy: fromFlagOrEnv(values['trust-proxy'], 'trust-proxy', 'LABSYNC_TRUST_PROXY', given),
    store: fromFlagOrEnv(values.store, 'store', 'LABSYNC_STORE', given),
    fanout: fromFlagOrEnv(values.fanout, 'fanout', 'LABSYNC_FANOUT', given),
    images: fromFlagOrEnv(values.images, 'images', 'LABSYNC_IMAGES', given),
  })
}

/** A relay option given as a flag or, failing that, by its environment variable; `from` names which. */
function fromFlagOrEnv<T>(flag: string | undefined, name: string, env: string, make: (value: string, from: string) => T): T | null {
  if (flag !== undefined) return make(flag, `--${name}`)
  const value = process.env[env]
  return value ? make(value, env) : null
}

async function labCommand(argv: string[]): Promise<void> {
  const { values, positionals, help } = parseOptions('lab', argv, LAB_OPTIONS)
  if (help) return console.log(LAB_HELP)
  if (positionals.length) throw new UsageError('lab', `unexpected argument "${positionals[0]}"`)
  for (const option of LAB_OPTIONS) {
    if ('required' in option && !values[option.name]) throw new UsageError('lab', `--${option.name} ${option.value} is required`)
  }
  const relay = values.relay!
  let relayUrl: URL | null = null
  try { relayUrl = new URL(relay) } catch { /* reported below */ }
  if (!relayUrl || !/^https?:$/.test(relayUrl.protocol) || !/^https?:\/\/[^/\s]+/.test(relay)) throw new ConfigError(`lab: --relay "${relay}" is not an http:// or https:// URL`)
  const printer = values.printer!
  if (!/^(ipps?:\/\/[^/\s]+|file:.+)/i.test(printer)) throw new ConfigError(`lab: --printer "${printer}" is neither ipp://HOST/PATH, ipps://… nor file:DIR`)
  const interval = Number(values['history-interval'] ?? 60)
  if (!Number.isFinite(interval) || interval <= 0) throw new ConfigError(`lab: --history-interval "${String(values['history-interval'])}" is not a number of seconds above 0`)
  const listen = values.listen === undefined ? null : listenAddress(values.listen)
  const tls = values['tls-cert'] !== undefined || values['tls-key'] !== undefined ? tlsFiles(values, listen) : null
  const operatorConsole = consoleAddress(values.console, values['operator-token'] ?? process.env.LABSYNC_OPERATOR_TOKEN)
  const { runLab } = await import('../lab-node/main.ts')
  return runLab({
    relay, lab: values.lab!, key: values.key!, printer,
    data: values.data ?? './data/lab',
    templates: values.templates ?? null,
    historyIntervalSeconds: interval,
    auto: Boolean(values.auto),
    listen,
    tls,
    console: operatorConsole,
  })
}

/** --console HOST:PORT with the operator token it asks for (--operator-token or LABSYNC_OPERATOR_TOKEN). */
function consoleAddress(value: string | undefined, token: string | undefined): { host: string; port: number; token: string } | null {
  if (value === undefined) return null
  if (!token) throw new ConfigError('lab: --console needs --operator-token T (or LABSYNC_OPERATOR_TOKEN)')
  if (token.length < 8) throw new ConfigError('lab: the operator token must be at least 8 characters')
  return { ...listenAddress(value, 'console'), token }
}

/** --listen (or --console) HOST:PORT (an IPv6 host in brackets). */
function listenAddress(value: string, option = 'listen'): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new ConfigError(`lab: --${option} "${value}" is not HOST:PORT (e.g. 0.0.0.0:8090; port 0 picks a free one)`)
  return { host: match[1].replace(/^\[|\]$/g, ''), port }
}

/** The PEM files of --tls-cert and --tls-key, read and checked to make a TLS context together. */
function tlsFiles(values: { 'tls-cert'?: string; 'tls-key'?: string }, listen: { host: string; port: number } | null): { cert: string; key: string } {
  if (!listen) throw new ConfigError('lab: --tls-cert and --tls-key are for the in-store server: give --listen too')
  if (!values['tls-cert'] || !values['tls-key']) throw new ConfigError('lab: --tls-cert and --tls-key go together')
  const read = (flag: 'tls-cert' | 'tls-key') => {
    try {
      return readFileSync(values[flag]!, 'utf8')
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
    // A usage error's message starts with its command: `labsync lab: unknown option --prnter (…)`.
    console.error(error instanceof UsageError ? `labsync ${error.message}` : `labsync: ${error.message}`)
    process.exit(2)
  }
  console.error(error)
  process.exit(1)
})
