// The lab operator's stdin commands (lab-node/operator.ts): each line becomes one call, an order
// id where one is needed, and anything else the list of commands.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OPERATOR_HELP, parseOperatorLine, runOperatorCommand, type OperatorActions } from '../../lab-node/operator.ts'

/** Runs one line and says what was called and logged. */
function run(line: string): { calls: string[]; logged: string[] } {
  const calls: string[] = []
  const logged: string[] = []
  const record = (name: string) => (order?: string) => { calls.push(order === undefined ? name : `${name} ${order}`) }
  const actions: OperatorActions = {
    queue: record('queue'), next: record('next'), all: record('all'), print: record('print'), retry: record('retry'),
    skip: record('skip'), ready: record('ready'), collected: record('collected'), status: record('status'), flush: record('flush'), quit: record('quit'),
  }
  runOperatorCommand(parseOperatorLine(line), actions, (text) => logged.push(text))
  return { calls, logged }
}

test('each command without an argument is one call of the same name', () => {
  for (const command of ['queue', 'next', 'all', 'status', 'flush', 'quit']) assert.equal(run(command), { calls: [command], logged: [] })
})

test('print, retry and skip pass on the order id, whatever the spaces around it', () => {
  assert.equal(run('print o1').calls, ['print o1'])
  assert.equal(run('  retry   o2  ').calls, ['retry o2'])
  assert.equal(run('skip\to3').calls, ['skip o3'])
})

test('ready and collected pass on the order id; without one they call nothing and say so', () => {
  assert.equal(run('ready o4').calls, ['ready o4'])
  assert.equal(run(' collected  o5 ').calls, ['collected o5'])
  for (const command of ['ready', 'collected']) assert.equal(run(command), { calls: [], logged: [`${command} needs an order id`] })
  assert.ok(OPERATOR_HELP.includes('ready <order>') && OPERATOR_HELP.includes('collected <order>'), 'the help lists them')
})

test('print, retry and skip without an order id call nothing and say what is missing', () => {
  for (const command of ['print', 'retry', 'skip']) assert.equal(run(`${command}  `), { calls: [], logged: [`${command} needs an order id`] })
})

test('a blank line does nothing; an unknown word gets the list of commands', () => {
  assert.equal(run('   '), { calls: [], logged: [] })
  assert.equal(run('help'), { calls: [], logged: [OPERATOR_HELP] })
  assert.equal(run('Queue'), { calls: [], logged: [OPERATOR_HELP] }, 'commands are lower case, as they always were')
})

test.run()
