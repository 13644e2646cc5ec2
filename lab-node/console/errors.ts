// The console's refusals, each with the HTTP status it becomes (server.ts turns them into
// `{error}` answers in one place).

export class ConsoleRefusal extends Error {
  override name = 'ConsoleRefusal'
  constructor(readonly status: 400 | 401 | 404 | 405 | 409 | 413 | 415 | 429 | 501 | 503, message: string) {
    super(message)
  }
}

export const badRequest = (message: string) => new ConsoleRefusal(400, message)
export const notFound = (message = 'not found') => new ConsoleRefusal(404, message)
export const conflict = (message: string) => new ConsoleRefusal(409, message)
