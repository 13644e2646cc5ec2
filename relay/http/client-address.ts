// The client's address for logs and per-address limits. Behind a balancer every TCP peer is the
// balancer, so the address is taken from X-Forwarded-For, but only when the peer is a proxy the
// operator trusts (--trust-proxy): from anyone else the header is a claim anyone can forge.
import { BlockList, isIP } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { ConfigError } from '../../shared/errors.ts'
import { addressOf } from '../../sync-server/http-limits.ts'

/** Reads a request's client address; the relay's routes and logs ask this, never the socket. */
export type ClientAddress = (req: IncomingMessage) => string

/** Address ranges the relay believes about X-Forwarded-For. */
export interface TrustedProxies {
  has(address: string): boolean
}

/**
 * Parses --trust-proxy: CIDR ranges (or single addresses), IPv4 or IPv6, comma-separated.
 * ConfigError naming the first one that is not.
 */
export function parseTrustedProxies(value: string, flag = '--trust-proxy'): TrustedProxies {
  const list = new BlockList()
  const items = value.split(',').map((item) => item.trim())
  for (const item of items) {
    const [address, bits, ...rest] = item.split('/')
    const family = isIP(address)
    const max = family === 6 ? 128 : 32
    const prefix = bits === undefined ? max : Number(bits)
    if (!family || rest.length || (bits !== undefined && !/^\d+$/.test(bits)) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new ConfigError(`${flag}: "${item}" is not an address or CIDR range (e.g. 127.0.0.1/32, 10.0.0.0/8, ::1/128)`)
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4')
  }
  return { has: (address) => contains(list, address) }
}

function contains(list: BlockList, address: string): boolean {
  const plain = unmapped(address)
  const family = isIP(plain)
  return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4')
}

/** An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) is its IPv4 address; brackets go. */
function unmapped(address: string): string {
  const bare = address.replace(/^\[(.*)\]$/, '$1')
  return bare.toLowerCase().startsWith('::ffff:') && isIP(bare.slice(7)) === 4 ? bare.slice(7) : bare
}

/**
 * The client address as the relay sees it. Without trusted proxies: the TCP peer, headers
 * ignored. With them: from a trusted peer, the right-most X-Forwarded-For hop that is not itself
 * trusted (hops further left were written by whoever connected first, and may be forged); a hop
 * that is not an address ends the walk at the trusted proxy that passed it on.
 */
export function clientAddressOf(trusted: TrustedProxies | null): ClientAddress {
  return (req) => {
    const peer = addressOf(req.socket)
    if (!trusted || !trusted.has(peer)) return peer
    const header = req.headers['x-forwarded-for']
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((hop) => hop.trim()).filter(Boolean)
    let client = peer
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i])
      if (!isIP(hop)) return client
      client = hop
      if (!trusted.has(hop)) return hop
    }
    return client
  }
}
