// The few labsync HTTP calls the benchmarks need: accounts and photo uploads.
import { createHash } from 'node:crypto'
import sharp from 'sharp'

let accountCounter = 0

export async function signUp(relayUrl: string): Promise<{ userId: string; token: string }> {
  const email = `bench${process.pid}-${++accountCounter}-${Date.now()}@example.test`
  const res = await fetch(`${relayUrl}/api/accounts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery', name: 'Bench customer' }),
  })
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`)
  return await res.json() as { userId: string; token: string }
}

/** A few accounts (scrypt makes each ~50 ms); customers share them round-robin. */
export async function accounts(relayUrl: string, count: number): Promise<Array<{ userId: string; token: string }>> {
  return Promise.all(Array.from({ length: count }, () => signUp(relayUrl)))
}

export async function uploadPhoto(relayUrl: string, token: string, seed: number): Promise<string> {
  const bytes = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 53) % 256 } } })
    .jpeg({ quality: 80 }).toBuffer()
  const sha = createHash('sha256').update(bytes).digest('hex')
  const res = await fetch(`${relayUrl}/api/images/${sha}`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' }, body: new Uint8Array(bytes),
  })
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`)
  return sha
}

/** Polls /healthz until it answers 200; the time from `since` (performance.now()) in ms. */
export async function healthy(relayUrl: string, since: number, timeoutMs = 30_000): Promise<number> {
  while (performance.now() - since < timeoutMs) {
    try {
      const res = await fetch(`${relayUrl}/healthz`)
      await res.arrayBuffer()
      if (res.status === 200) return performance.now() - since
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`${relayUrl}/healthz did not answer within ${timeoutMs} ms`)
}
