// `labsync help` and `labsync <command> --help|-h` as real processes: usage on stdout, exit 0, every
// option of the command's table listed with its description and default; and a mistake on the
// command line (unknown option, missing value, unknown command) as one line naming it, exit 2.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { LABSYNC } from '../helpers/relay.ts'
import { COMMANDS, LAB_OPTIONS, RELAY_OPTIONS } from '../../bin/usage.ts'
import type { Option } from '../../bin/options.ts'
import { OPTIONS as ADMIN_OPTIONS } from '../../admin/cli.ts'
import { LISTINGS } from '../../shared/audit.ts'

interface Outcome { code: number | null; stdout: string; stderr: string }

/** Runs `bin/labsync …` to its end; nothing here should start a server, so one that does is stopped. */
function run(...args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LABSYNC, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`labsync ${args.join(' ')} still running after 15 s:\n${stdout}${stderr}`)) }, 15_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** Wrapping aside: the help text with every run of white space as one space. */
const flat = (text: string) => text.replace(/\s+/g, ' ')

/** Exit 0, nothing on stderr, and the help on stdout. */
function helped(outcome: Outcome, what: string): string {
  assert.is(outcome.code, 0, `${what}: exit code (stderr: ${outcome.stderr})`)
  assert.is(outcome.stderr, '', `${what}: stderr`)
  assert.match(outcome.stdout, /^usage: labsync /, `${what}: starts with the usage`)
  return flat(outcome.stdout)
}

/** Each option of the table: `--name VALUE`, what it does, and its default, in that order. */
function listsEvery(help: string, table: readonly Option[], what: string): void {
  const options = help.indexOf(' options: ')
  assert.ok(options >= 0, `${what}: has an options section`)
  help = help.slice(options)
  for (const option of table) {
    assert.ok(option.help.trim().length > 10, `${what}: --${option.name} has a description`)
    const entry = `--${option.name}${option.value ? ` ${option.value}` : ''} `
    const at = help.indexOf(entry)
    assert.ok(at >= 0, `${what}: lists ${entry.trim()}:\n${help}`)
    const rest = help.slice(at + entry.length)
    const described = rest.indexOf(flat(option.help))
    assert.ok(described >= 0 && described < 40, `${what}: --${option.name} is described as in its table`)
    if (option.default !== undefined) assert.ok(rest.slice(described).startsWith(`${flat(option.help)} (default ${option.default})`), `${what}: --${option.name} names its default`)
  }
  assert.match(help, /-h, --help /, `${what}: lists -h, --help`)
}

/** Exit 2 and exactly one line on stderr, without Node's parser wording or a stack trace. */
function refused(outcome: Outcome, line: RegExp, what: string): void {
  assert.is(outcome.code, 2, `${what}: exit code (stderr: ${outcome.stderr})`)
  const lines = outcome.stderr.split('\n').filter((l) => l.trim() !== '')
  assert.is(lines.length, 1, `${what}: one line on stderr, got:\n${outcome.stderr}`)
  assert.match(lines[0], line, what)
  assert.not.match(lines[0], /ERR_PARSE_ARGS|TypeError|Unknown option '|    at /, `${what}: no parser wording`)
}

// ---------------------------------------------------------------- help

test('labsync help, --help and -h print the commands with one line each, exit 0', async () => {
  for (const args of [['help'], ['--help'], ['-h']]) {
    const help = helped(await run(...args), `labsync ${args.join(' ')}`)
    for (const [command, text] of COMMANDS) assert.ok(help.includes(`${command} ${flat(text)}`), `labsync ${args[0]}: lists ${command}:\n${help}`)
    for (const command of ['relay', 'lab', 'admin']) assert.ok(COMMANDS.some(([name]) => name === command), `${command} is in the table`)
  }
})

test('labsync relay --help and -h list every relay option with its description and default, exit 0', async () => {
  for (const flag of ['--help', '-h']) listsEvery(helped(await run('relay', flag), `relay ${flag}`), RELAY_OPTIONS, `relay ${flag}`)
})

test('labsync lab --help and -h list every lab option with its description and default, exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const help = helped(await run('lab', flag), `lab ${flag}`)
    listsEvery(help, LAB_OPTIONS, `lab ${flag}`)
    assert.ok(help.startsWith('usage: labsync lab --relay URL --lab ID --key KEY --printer URI [options]'), help)
  }
})

test('labsync admin --help and -h list the listings and every admin option, exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const help = helped(await run('admin', flag), `admin ${flag}`)
    for (const listing of LISTINGS) assert.match(help, new RegExp(` ${listing} \\w`), `admin ${flag}: describes ${listing}`)
    // Options some listings take are described after the names of those listings.
    listsEvery(help, ADMIN_OPTIONS.map((o) => (o.listings === LISTINGS ? o : { ...o, help: `${o.listings.join(', ')}: ${o.help}` })), `admin ${flag}`)
  }
})

test('labsync admin LISTING --help lists the options that listing takes and no other, exit 0', async () => {
  for (const listing of LISTINGS) {
    const help = helped(await run('admin', listing, '--help'), `admin ${listing} --help`)
    const takes = ADMIN_OPTIONS.filter((o) => (o.listings as readonly string[]).includes(listing))
    listsEvery(help, takes, `admin ${listing} --help`)
    for (const option of ADMIN_OPTIONS) {
      if (!takes.includes(option)) assert.not.ok(help.includes(`--${option.name} `), `admin ${listing} --help: no --${option.name}`)
    }
  }
})

test('labsync help COMMAND prints what COMMAND --help prints', async () => {
  for (const command of ['relay', 'lab', 'admin']) {
    const [viaHelp, viaFlag] = await Promise.all([run('help', command), run(command, '--help')])
    assert.is(viaHelp.code, 0, `help ${command}: ${viaHelp.stderr}`)
    assert.is(viaHelp.stdout, viaFlag.stdout, `help ${command}`)
  }
})

// ---------------------------------------------------------------- every option in the table is accepted

test('every option in a command table is accepted: the first complaint is the stray argument, not an option', async () => {
  const given = (table: readonly Option[]) => table.flatMap((o) => (o.value ? [`--${o.name}`, 'x'] : [`--${o.name}`]))
  refused(await run('relay', ...given(RELAY_OPTIONS), 'stray'), /^labsync relay: unexpected argument "stray"/, 'relay')
  refused(await run('lab', ...given(LAB_OPTIONS), 'stray'), /^labsync lab: unexpected argument "stray"/, 'lab')
  refused(await run('admin', ...given(ADMIN_OPTIONS)), /^labsync admin: what to list is missing/, 'admin')
})

// ---------------------------------------------------------------- mistakes

test('an unknown option: one line naming it and the usage hint, exit 2', async () => {
  refused(await run('lab', '--prnter', 'file:/tmp/x'), /^labsync lab: unknown option --prnter \(see labsync lab --help\)$/, 'lab --prnter')
  refused(await run('relay', '--verbose'), /^labsync relay: unknown option --verbose \(see labsync relay --help\)$/, 'relay --verbose')
  refused(await run('relay', '-x'), /^labsync relay: unknown option -x \(see labsync relay --help\)$/, 'relay -x')
  refused(await run('admin', 'receipts', '--colour', 'red'), /^labsync admin: unknown option --colour \(see labsync admin --help\)$/, 'admin --colour')
  refused(await run('--verbose'), /^labsync: unknown option --verbose \(see labsync help\)$/, '--verbose')
})

test('an option without its value: one line naming it, exit 2', async () => {
  refused(await run('lab', '--relay'), /^labsync lab: --relay needs a value \(URL\) \(see labsync lab --help\)$/, 'lab --relay')
  // The next option is not the value: `--relay --lab x` forgot the URL.
  refused(await run('lab', '--relay', '--lab', 'x'), /^labsync lab: --relay needs a value/, 'lab --relay --lab x')
  refused(await run('relay', '--port'), /^labsync relay: --port needs a value \(P\)/, 'relay --port')
  refused(await run('admin', 'labs', '--token'), /^labsync admin: --token needs a value \(T\)/, 'admin --token')
})

test('a value given to a flag: one line naming it, exit 2', async () => {
  refused(await run('lab', '--auto=yes'), /^labsync lab: --auto takes no value/, 'lab --auto=yes')
})

test('an unknown command: one line naming it and the usage hint, exit 2', async () => {
  refused(await run('serve'), /^labsync: unknown command "serve" \(relay, lab or admin; see labsync help\)$/, 'serve')
  refused(await run('help', 'serve'), /^labsync: unknown command "serve"/, 'help serve')
})

test.run()
