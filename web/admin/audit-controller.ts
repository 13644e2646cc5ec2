// Everything the /admin/ page knows, as reactive state for the host: the admin token (kept in
// sessionStorage, so it ends with the tab), the filters, the current page of receipts or history
// with the cursors to go back, the labs' status and the daily totals behind the charts.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { DailyReport, HistoryRow, LabStatus, Page, ReceiptRow } from '../../shared/audit.ts'
import { AdminApi, AdminApiError, type Query } from './api.ts'

export type View = 'receipts' | 'history'

/** As the form holds them: ids, a status, and days (`YYYY-MM-DD`, both included). */
export interface Filters { lab: string; user: string; front: string; status: string; since: string; until: string }

export const NO_FILTERS: Filters = { lab: '', user: '', front: '', status: '', since: '', until: '' }
const TOKEN_KEY = 'labsync.admin-token'
export const PAGE_SIZE = 50

/** The day after `YYYY-MM-DD`: the relay's `until` excludes its day, the form's includes it. */
export function dayAfter(day: string): string {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
}

export class AuditController implements ReactiveController {
  token: string | null = null
  view: View = 'receipts'
  filters: Filters = NO_FILTERS
  receipts: Page<ReceiptRow> | null = null
  history: Page<HistoryRow> | null = null
  labs: LabStatus[] = []
  daily: DailyReport | null = null
  loading = false
  error = ''
  signInError = ''
  busy = false
  /** The cursor each page shown so far was read from; the last is the current page's. */
  private cursors: Array<string | null> = [null]
  /** Answers to a request older than the latest change are dropped. */
  private generation = 0

  constructor(private readonly host: ReactiveControllerHost, private readonly api: (token: string) => AdminApi = (token) => new AdminApi(token)) {
    host.addController(this)
  }

  hostConnected(): void {
    this.token = sessionStorage.getItem(TOKEN_KEY)
    if (this.token) void this.reload()
  }

  hostDisconnected(): void {
    this.generation++
  }

  get pageNumber(): number {
    return this.cursors.length
  }

  async signIn(token: string): Promise<void> {
    const candidate = token.trim()
    if (!candidate) return
    this.busy = true
    this.signInError = ''
    this.host.requestUpdate()
    try {
      this.labs = await this.api(candidate).labs()
      sessionStorage.setItem(TOKEN_KEY, candidate)
      this.token = candidate
      void this.reload()
    } catch (error) {
      this.signInError = error instanceof AdminApiError && (error.status === 401 || error.status === 403)
        ? 'That is not an admin token of this relay.'
        : (error as Error).message
    } finally {
      this.busy = false
      this.host.requestUpdate()
    }
  }

  signOut(message = ''): void {
    sessionStorage.removeItem(TOKEN_KEY)
    this.generation++
    Object.assign(this, { token: null, receipts: null, history: null, labs: [], daily: null, loading: false, error: '', signInError: message })
    this.cursors = [null]
    this.host.requestUpdate()
  }

  setView(view: View): void {
    if (view === this.view) return
    this.view = view
    this.filters = { ...this.filters, status: '' } // receipts and history have different statuses
    this.cursors = [null]
    void this.reload()
  }

  setFilters(filters: Filters): void {
    this.filters = filters
    this.cursors = [null]
    void this.reload()
  }

  nextPage(): void {
    const next = this.current?.next
    if (!next) return
    this.cursors.push(next)
    void this.run((api) => this.loadPage(api))
  }

  previousPage(): void {
    if (this.cursors.length < 2) return
    this.cursors.pop()
    void this.run((api) => this.loadPage(api))
  }

  get current(): Page<ReceiptRow> | Page<HistoryRow> | null {
    return this.view === 'receipts' ? this.receipts : this.history
  }

  /** The page, the labs and the charts, afresh. */
  reload(): Promise<void> {
    return this.run(async (api, generation) => {
      const [labs, daily] = await Promise.all([api.labs(), api.daily(this.query(false)), this.loadPage(api)])
      if (generation !== this.generation) return
      this.labs = labs
      this.daily = daily
    })
  }

  /** Saves the whole filtered listing as the relay's CSV file. */
  async download(): Promise<void> {
    await this.run(async (api) => {
      const { blob, filename } = await api.csv(this.view, this.query(true))
      const url = URL.createObjectURL(blob)
      const link = Object.assign(document.createElement('a'), { href: url, download: filename })
      document.body.append(link)
      link.click()
      link.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    })
  }

  private async loadPage(api: AdminApi): Promise<void> {
    const generation = this.generation
    const query = { ...this.query(true), limit: String(PAGE_SIZE) }
    const after = this.cursors[this.cursors.length - 1]
    if (this.view === 'receipts') {
      const page = await api.page<ReceiptRow>('receipts', query, after)
      if (generation === this.generation) this.receipts = page
    } else {
      const page = await api.page<HistoryRow>('history', query, after)
      if (generation === this.generation) this.history = page
    }
  }

  private query(listing: boolean): Query {
    const { lab, user, front, status, since, until } = this.filters
    return { lab, user, front, ...(listing ? { status } : {}), since, until: until ? dayAfter(until) : '' }
  }

  private async run(task: (api: AdminApi, generation: number) => Promise<void>): Promise<void> {
    if (!this.token) return
    const generation = ++this.generation
    this.loading = true
    this.error = ''
    this.host.requestUpdate()
    try {
      await task(this.api(this.token), generation)
    } catch (error) {
      if (generation !== this.generation) return
      if (error instanceof AdminApiError && (error.status === 401 || error.status === 403)) {
        this.signOut('The relay no longer accepts this token; please sign in again.')
        return
      }
      this.error = (error as Error).message
    } finally {
      if (generation === this.generation) {
        this.loading = false
        this.host.requestUpdate()
      }
    }
  }
}
