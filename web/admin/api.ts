// The relay's admin API as the /admin/ page calls it (same origin, Bearer token): listing pages,
// lab status, daily totals and CSV downloads. Every refusal becomes an AdminApiError to show.
import type { DailyReport, LabStatus, Page } from '../../shared/audit.ts'

/** `status` 0: the relay could not be reached. */
export class AdminApiError extends Error {
  override name = 'AdminApiError'
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

export type Query = Record<string, string>

export class AdminApi {
  constructor(private readonly token: string, private readonly base = location.origin) {}

  page<Row>(listing: 'receipts' | 'history', query: Query, after: string | null, signal?: AbortSignal): Promise<Page<Row>> {
    return this.json(listing, after ? { ...query, after } : query, signal)
  }

  async labs(signal?: AbortSignal): Promise<LabStatus[]> {
    return (await this.json<Page<LabStatus>>('labs', {}, signal)).rows
  }

  daily(query: Query, signal?: AbortSignal): Promise<DailyReport> {
    return this.json('daily', query, signal)
  }

  /** The whole listing as the relay's CSV file, with the file name it suggests. */
  async csv(listing: 'receipts' | 'history', query: Query, signal?: AbortSignal): Promise<{ blob: Blob; filename: string }> {
    const res = await this.get(listing, { ...query, format: 'csv' }, signal)
    const disposition = res.headers.get('content-disposition') ?? ''
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `labsync-${listing}.csv`
    return { blob: await res.blob(), filename }
  }

  private async json<T>(path: string, query: Query, signal?: AbortSignal): Promise<T> {
    return (await (await this.get(path, query, signal)).json()) as T
  }

  /** `signal` cancels the request: a page that asked again no longer wants the older answer. */
  private async get(path: string, query: Query, signal?: AbortSignal): Promise<Response> {
    const url = new URL(`/api/admin/${path}`, this.base)
    for (const [name, value] of Object.entries(query)) if (value) url.searchParams.set(name, value)
    let res: Response
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, cache: 'no-store', signal })
    } catch (error) {
      if (signal?.aborted) throw error
      throw new AdminApiError(0, 'The relay cannot be reached.')
    }
    if (res.ok) return res
    const body = (await res.json().catch(() => ({}))) as { error?: unknown }
    const message = typeof body.error === 'string' ? body.error : `The relay answered ${res.status}.`
    throw new AdminApiError(res.status, message.charAt(0).toUpperCase() + message.slice(1))
  }
}
