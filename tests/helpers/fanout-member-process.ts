// Starts tests/helpers/fanout-member.ts (a relay as Redis sees it) as a process of its own.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { LABSYNC } from './relay.ts'

const MEMBER = join(LABSYNC, '..', '..', 'tests', 'helpers', 'fanout-member.ts')

export interface FanoutMember {
  /** SIGKILL: a relay's death, nothing said. */
  kill(): Promise<void>
  /** SIGTERM: a relay shutting down, which tells the others it is leaving. */
  stop(): Promise<void>
}

/** A relay's Redis links in a process of their own, beating every `heartbeatMs`; resolves once they do. */
export async function startFanoutMember(redisUrl: string, heartbeatMs: number): Promise<FanoutMember> {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, redisUrl, String(heartbeatMs)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => { output += chunk; if (output.includes('ready')) resolve() })
    child.stderr!.on('data', (chunk) => { output += chunk })
    child.once('exit', (code, signal) => reject(new Error(`the fan-out member ended (${code ?? signal}) before it was ready:\n${output}`)))
  })
  const end = (signal: NodeJS.Signals) => async () => { if (child.exitCode === null && child.signalCode === null) child.kill(signal); await ended }
  return { kill: end('SIGKILL'), stop: end('SIGTERM') }
}
