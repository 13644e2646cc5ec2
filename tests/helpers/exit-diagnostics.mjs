// Loaded into every test file's process by tests/run.ts (--import). When a file has printed its
// uvu summary but its process does not exit, something it started is still open; the runner then
// sends SIGUSR2 and this prints what keeps the process alive before the runner kills it, so the
// failure names its cause instead of a bare timeout. A signal listener never keeps a process alive.
// Plain JavaScript: worker threads inherit --import but not the tsx loader.
import { isMainThread } from 'node:worker_threads'

if (isMainThread) {
  process.on('SIGUSR2', () => {
    // Timers show only as "Timeout" (a timer's owner can't be named from here); sockets, servers,
    // child processes and worker threads are listed one by one below.
    const lines = ['still open after the summary: ' + process.getActiveResourcesInfo().join(', ')]
    // _getActiveHandles is undocumented but has been in Node for years: it names the objects.
    for (const handle of process._getActiveHandles?.() ?? []) {
      if (handle !== process.stdout && handle !== process.stderr && handle !== process.stdin) lines.push('  ' + describe(handle))
    }
    process.stderr.write(lines.join('\n') + '\n')
  })
}

function describe(handle) {
  const parts = [handle?.constructor?.name ?? typeof handle]
  if (typeof handle.localPort === 'number') parts.push(`local ${handle.localAddress}:${handle.localPort}`)
  if (typeof handle.remotePort === 'number') parts.push(`remote ${handle.remoteAddress}:${handle.remotePort}`)
  if (typeof handle.threadId === 'number') parts.push(`thread ${handle.threadId}`)
  if (typeof handle.pid === 'number') parts.push(`pid ${handle.pid} ${handle.spawnfile ?? ''}`)
  return parts.join(' ')
}
