// A TCP proxy on 127.0.0.1 standing for a store's internet link: it can cut every connection
// through it at once (mid-message included) and refuse new ones while "down".
import { createServer, connect, type Socket, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface FlakyProxy {
  url: string
  /** Connections cut so far. */
  readonly cuts: number
  /** Destroys every open connection through the proxy, both directions, wherever they are. */
  cut(): void
  /** While down, new connections are closed as soon as they arrive. */
  setDown(down: boolean): void
  close(): Promise<void>
}

export async function startFlakyProxy(target: { host: string; port: number }): Promise<FlakyProxy> {
  const open = new Set<Socket>()
  let down = false
  let cuts = 0
  const server: Server = createServer((client) => {
    if (down) { client.destroy(); return }
    const upstream = connect(target.port, target.host)
    open.add(client).add(upstream)
    const drop = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream) }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() { return cuts },
    cut() {
      if (open.size > 0) cuts++
      for (const socket of open) socket.destroy()
      open.clear()
    },
    setDown(value) { down = value },
    close() {
      for (const socket of open) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
