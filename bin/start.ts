// `npm start`: the whole of labsync on its embedded defaults — the relay with the demo catalog
// (SQLite under ./data), the built web app, and one demo lab node printing to ./data/prints.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'

const root = join(import.meta.dirname, '..')
const labsync = join(root, 'bin', 'labsync')
const port = process.env.PORT ?? '8080'
const host = process.env.HOST ?? '127.0.0.1'

if (!existsSync(join(root, 'dist', 'index.html')) && existsSync(join(root, 'vite.config.ts'))) {
  console.log('start: building the web app (npm run build)…')
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) console.log('start: the web app did not build; the relay serves a placeholder page')
}

const children: ChildProcess[] = []
function run(name: string, args: string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [labsync, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffer = ''
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) { console.log(`[${name}] ${line}`); onLine?.(line) }
    })
  }
  child.on('exit', (code, signal) => {
    console.log(`[${name}] exited (${signal ?? code})`)
    if (!stopping) stop(code ?? 1)
  })
  children.push(child)
  return child
}

let stopping = false
function stop(code = 0): void {
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  setTimeout(() => process.exit(code), 1500).unref()
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

/** Whether nothing listens on 127.0.0.1:port yet. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer().once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

// The demo catalog's store lists the lab node's in-store server at ws://127.0.0.1:8090.
const LAN_PORT = 8090
const lanFree = await portFree(LAN_PORT)

// `npm start -- --fresh`: the relay starts over on a lost database (see `labsync relay --help`).
const fresh = process.argv.slice(2).includes('--fresh') ? ['--fresh'] : []
run('relay', ['relay', '--host', host, '--port', port, '--data', join(root, 'data', 'relay'), ...fresh], (line) => {
  const match = /relay listening on (\S+)/.exec(line)
  if (!match) return
  run('lab', ['lab', '--relay', match[1], '--lab', 'demo-lab', '--key', 'demo-lab-key', '--printer', `file:${join(root, 'data', 'prints')}`,
    '--data', join(root, 'data', 'lab'), '--auto', '--history-interval', '10', ...(lanFree ? ['--listen', `127.0.0.1:${LAN_PORT}`] : [])])
  if (!lanFree) console.log(`start: port ${LAN_PORT} is taken, so the demo lab node runs without its in-store server`)
  console.log(`\nlabsync is running. Open ${match[1]}/ (customers) or ${match[1]}/admin/ (admin token "demo-admin-token").`)
  console.log(`The demo lab prints to ${join(root, 'data', 'prints')}. Ctrl-C stops everything.\n`)
})
