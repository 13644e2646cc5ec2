// The relay's account endpoints (SPEC.md "HTTP"): sign up, sign in, sign out. Signing in needs the
// network once; everything after that works offline with the session kept on the device.

export interface Session {
  userId: string
  token: string
  name: string
  email: string
  /** ISO time the relay stops honouring the token. */
  expiresAt: string
}

/** A refusal or failure the customer can read; `status` 0 means the relay could not be reached. */
export class AccountError extends Error {
  override name = 'AccountError'
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

interface SessionAnswer { userId: string; token: string; name?: string; expiresAt?: string }

async function post(base: string, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  let res: Response
  try {
    res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch {
    throw new AccountError(0, 'The print service cannot be reached. Signing in needs a connection once; please try again when you are online.')
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>
  return { status: res.status, json }
}

function toSession(json: Record<string, unknown>, email: string, fallbackName: string): Session {
  const answer = json as unknown as SessionAnswer
  if (typeof answer.userId !== 'string' || typeof answer.token !== 'string') throw new AccountError(502, 'The print service answered with something unexpected.')
  return {
    userId: answer.userId,
    token: answer.token,
    name: answer.name ?? fallbackName,
    email,
    expiresAt: answer.expiresAt ?? new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
  }
}

const message = (json: Record<string, unknown>, fallback: string) => (typeof json.error === 'string' ? capitalize(json.error) : fallback)
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.')

export async function signUp(base: string, input: { email: string; password: string; name: string }): Promise<Session> {
  const { status, json } = await post(base, '/api/accounts', input)
  if (status === 201 || status === 200) return toSession(json, input.email, input.name)
  if (status === 409) throw new AccountError(409, 'An account with this email already exists. Sign in instead.')
  throw new AccountError(status, message(json, `Creating the account failed (${status}).`))
}

export async function signIn(base: string, input: { email: string; password: string }): Promise<Session> {
  const { status, json } = await post(base, '/api/sessions', input)
  if (status === 200) return toSession(json, input.email, input.email)
  if (status === 401) throw new AccountError(401, 'Wrong email or password.')
  throw new AccountError(status, message(json, `Signing in failed (${status}).`))
}

/** Ends the session at the relay; offline, the token simply expires there later. */
export async function signOut(base: string, token: string): Promise<void> {
  await fetch(`${base}/api/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined)
}
