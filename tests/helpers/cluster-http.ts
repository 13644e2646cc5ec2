// HTTP(S) requests for the cluster tests: straight to a relay (http) or through the balancer
// (https, trusting its self-signed certificate), bodies as bytes, and a request cut part-way.
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer; relay: string | undefined }

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: Uint8Array
  /** The balancer's certificate, for https URLs. */
  ca?: string
}

function open(url: string, options: RequestOptions, answered: (answer: Answer) => void, failed: (error: Error) => void): ClientRequest {
  const make = url.startsWith('https:') ? httpsRequest : httpRequest
  const req = make(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false }, (res) => {
    const chunks: Buffer[] = []
    res.on('data', (chunk: Buffer) => chunks.push(chunk))
    res.on('end', () => answered({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), relay: res.headers['x-labsync-relay'] as string | undefined }))
    res.on('error', failed)
  })
  // Which request failed, for a test's message ("socket hang up" alone does not say).
  req.on('error', (error) => failed(new Error(`${options.method ?? 'GET'} ${new URL(url).pathname}: ${error.message}`, { cause: error })))
  return req
}

/** One request, its whole answer. */
export function send(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = open(url, options, resolve, reject)
    req.end(options.body)
  })
}

/**
 * A request whose body is sent only up to `sent` bytes of `body` (Content-Length says all of it),
 * then held open: the test cuts it (kills the server, or calls leave()). `done` settles with the
 * answer or the error the cut gave.
 */
export function sendPart(url: string, options: RequestOptions & { body: Uint8Array }, sent: number): { leave(): void; done: Promise<Answer | Error> } {
  let req: ClientRequest
  const done = new Promise<Answer | Error>((resolve) => {
    req = open(url, { ...options, headers: { ...options.headers, 'content-length': String(options.body.length) } }, resolve, resolve)
    req.write(options.body.subarray(0, sent))
  })
  // The client goes away mid-body by closing its side (a FIN after every byte written): the server
  // reads all `sent` bytes, then the end. A reset (req.destroy()) would let the server's kernel
  // drop bytes that had arrived but were not yet read, and a test could not say what arrived.
  const leave = () => {
    if (!req.socket) throw new Error('sendPart: the request has no connection yet')
    req.socket.end()
  }
  return { leave, done }
}
