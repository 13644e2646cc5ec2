// The operator's commands on the lab node's stdin: each line parsed into one command, and the
// command turned into a call on what the lab does (print loop, history, printer, shutdown).
import { createInterface } from 'node:readline'

export const OPERATOR_HELP = 'commands: queue | next | print <order> | all | retry <order> | skip <order> | ready <order> | collected <order> | status | flush | quit'

export type OperatorCommand =
  | { kind: 'queue' | 'next' | 'all' | 'status' | 'flush' | 'quit' }
  | { kind: 'print' | 'retry' | 'skip' | 'ready' | 'collected'; order: string }
  /** A blank line: nothing to do. */
  | { kind: 'blank' }
  /** A command that needs an order id and got none: `message` says so. */
  | { kind: 'incomplete'; message: string }
  /** Anything else: the operator gets the list of commands. */
  | { kind: 'unknown' }

const SIMPLE = new Set(['queue', 'next', 'all', 'status', 'flush', 'quit'] as const)
const WITH_ORDER = new Set(['print', 'retry', 'skip', 'ready', 'collected'] as const)

/** One stdin line as a command: the first word names it, the second is the order id where one is needed. */
export function parseOperatorLine(line: string): OperatorCommand {
  const [command, order] = line.trim().split(/\s+/)
  if (command === '') return { kind: 'blank' }
  if (SIMPLE.has(command as never)) return { kind: command as 'queue' }
  if (WITH_ORDER.has(command as never)) return order ? { kind: command as 'print', order } : { kind: 'incomplete', message: `${command} needs an order id` }
  return { kind: 'unknown' }
}

/** What the operator's commands call. */
export interface OperatorActions {
  queue(): void
  next(): void
  all(): void
  print(order: string): void
  retry(order: string): void
  skip(order: string): void
  /** The printed order is at its pickup store, ready for the customer. */
  ready(order: string): void
  /** The customer has collected the order. */
  collected(order: string): void
  status(): void
  flush(): void
  quit(): void
}

/** Runs `command` against `actions`; problems with the line itself are logged. */
export function runOperatorCommand(command: OperatorCommand, actions: OperatorActions, log: (line: string) => void): void {
  switch (command.kind) {
    case 'blank': return
    case 'incomplete': return log(command.message)
    case 'unknown': return log(OPERATOR_HELP)
    case 'print': case 'retry': case 'skip': case 'ready': case 'collected': return actions[command.kind](command.order)
    default: return actions[command.kind]()
  }
}

/** Reads commands from `input` line by line until close() is called. */
export function listenToOperator(input: NodeJS.ReadableStream, actions: OperatorActions, log: (line: string) => void): { close(): void } {
  const lines = createInterface({ input, terminal: false })
  lines.on('line', (line) => runOperatorCommand(parseOperatorLine(line), actions, log))
  return lines
}
