// For the lab node's mux tests: a TCP proxy on 127.0.0.1 in front of the relay that tells WebSocket
// connections from plain HTTP ones (photo fetches, presence) by their first request, and counts
// them, so a test sees from outside how many sockets a lab node holds at the relay.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export interface CountingProxy {
  url: string
  /** WebSocket connections open through the proxy now, by request path (query left off). */
  openSockets(): string[]
  /** The most WebSocket connections open at once so far. */
  readonly mostOpen: number
  /** Every WebSocket request path seen so far, in order. */
  readonly paths: string[]
  close(): Promise<void>
}

/** Proxies to 127.0.0.1:`port`; a relay restarted on the same port is reached again. */
export async function startCountingProxy(port: number): Promise<CountingProxy> {
  const all = new Set<Socket>()
  const sockets = new Map<Socket, string>()
  const paths: string[] = []
  let mostOpen = 0
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    all.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      all.delete(client)
      all.delete(upstream)
      sockets.delete(client)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.once('data', (first: Buffer) => {
      const head = first.toString('latin1')
      if (/^upgrade:\s*websocket/im.test(head)) {
        const path = (/^GET (\S+)/.exec(head)?.[1] ?? '?').split('?')[0]
        paths.push(path)
        sockets.set(client, path)
        mostOpen = Math.max(mostOpen, sockets.size)
      }
      upstream.write(first)
      client.pipe(upstream)
    })
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    openSockets: () => [...sockets.values()],
    get mostOpen() { return mostOpen },
    paths,
    close() {
      for (const socket of all) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Polls an asynchronous check (an HTTP request, say) until it holds; waitFor takes only synchronous ones. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
