// POST /api/accounts (sign up) and POST /api/sessions (sign in); DELETE /api/sessions signs out.
// Both ways in go through the sign-in guard: attempts per address, failures per account. A full
// disk or database answers 503 with Retry-After (respond.ts), never 500.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadRequestError, HttpError } from '../../shared/errors.ts'
import { normalizeEmail, type Accounts } from '../store/accounts.ts'
import { addressOf } from '../../sync-server/http-limits.ts'
import { readJson, requireString, sendJson } from '../../sync-server/respond.ts'
import type { SignInGuard } from './sign-in-guard.ts'
import type { ClientAddress } from './client-address.ts'

/** Without trusted proxies the client is the TCP peer. */
const peerAddress: ClientAddress = (req) => addressOf(req.socket)

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export async function signUp(req: IncomingMessage, res: ServerResponse, accounts: Accounts, guard: SignInGuard, clientAddress = peerAddress): Promise<void> {
  guard.attempt(clientAddress(req))
  const body = await readJson(req)
  const email = requireString(body, 'email', 254)
  const password = requireString(body, 'password', 1024)
  const name = requireString(body, 'name', 200)
  if (!EMAIL.test(email)) throw new BadRequestError('email is not an email address')
  if (password.length < 8) throw new BadRequestError('password needs at least 8 characters')
  const account = await accounts.create(email, password, name)
  if (!account) throw new HttpError(409, 'an account with this email exists')
  const { token, expiresAt } = await accounts.startSession(account.userId)
  sendJson(res, 201, { userId: account.userId, token, name: account.name, expiresAt: new Date(expiresAt).toISOString() })
}

export async function signIn(req: IncomingMessage, res: ServerResponse, accounts: Accounts, guard: SignInGuard, clientAddress = peerAddress): Promise<void> {
  guard.attempt(clientAddress(req))
  const body = await readJson(req)
  const email = requireString(body, 'email', 254)
  const password = requireString(body, 'password', 1024)
  const account = await guard.signIn(normalizeEmail(email), () => accounts.verify(email, password))
  if (!account) throw new HttpError(401, 'wrong email or password')
  const { token, expiresAt } = await accounts.startSession(account.userId)
  sendJson(res, 200, { userId: account.userId, token, name: account.name, expiresAt: new Date(expiresAt).toISOString() })
}

export async function signOut(res: ServerResponse, accounts: Accounts, token: string): Promise<void> {
  await accounts.endSession(token)
  sendJson(res, 200, { signedOut: true })
}
