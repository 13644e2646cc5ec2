// The lab node's console API as the page calls it (same origin: the Bearer operator token typed
// into the page, or none, and the browser sends the Basic credentials it opened the page with).
// Every refusal becomes a ConsoleApiError with the lab node's sentence to show.
import type { ActionResult, HistoryView, OrderAction, PrinterView, QueueView, ReprintRequest } from '../../shared/console-wire.ts'

/** `status` 0: the lab node could not be reached. */
export class ConsoleApiError extends Error {
  override name = 'ConsoleApiError'
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

export class ConsoleApi {
  /** `token` null: no Authorization header of ours; the browser's Basic credentials for this origin go instead. */
  constructor(private readonly token: string | null, private readonly base = location.origin) {}

  queue(signal?: AbortSignal): Promise<QueueView> {
    return this.json('/api/queue', { signal })
  }

  async printers(signal?: AbortSignal): Promise<PrinterView[]> {
    return (await this.json<{ printers: PrinterView[] }>('/api/printers', { signal })).printers
  }

  history(signal?: AbortSignal): Promise<HistoryView> {
    return this.json('/api/history', { signal })
  }

  act(order: string, action: OrderAction, body?: ReprintRequest): Promise<ActionResult> {
    return this.json(`/api/orders/${encodeURIComponent(order)}/${action}`, {
      method: 'POST', ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    })
  }

  /** A thumbnail as a blob (an <img> cannot send the token itself). */
  async photo(path: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.request(path, { signal })).blob()
  }

  private async json<T>(path: string, init: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.token !== null) headers.set('authorization', `Bearer ${this.token}`)
    let res: Response
    try {
      res = await fetch(new URL(path, this.base), { ...init, headers, cache: 'no-store' })
    } catch (error) {
      if (init.signal?.aborted) throw error
      throw new ConsoleApiError(0, 'The lab node cannot be reached.')
    }
    if (res.ok) return res
    const body = (await res.json().catch(() => ({}))) as { error?: unknown }
    const message = typeof body.error === 'string' ? body.error : `The lab node answered ${res.status}.`
    throw new ConsoleApiError(res.status, message.charAt(0).toUpperCase() + message.slice(1))
  }
}
