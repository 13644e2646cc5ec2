// Everything the /admin/ page knows, as reactive state for the host: the admin token (kept in
// sessionStorage, so it ends with the tab), the filters, the current page of receipts or history
// with the cursors to go back, the labs' status and the daily totals behind the charts. Each
// request is a Lit Task: it runs again when what it reads changes, and an older answer is dropped.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { Task, TaskStatus, initialState } from '@lit/task'
import type { DailyReport, HistoryRow, LabStatus, Page, ReceiptRow } from '../../shared/audit.ts'
import { AdminApi, AdminApiError, type Query } from './api.ts'

export type View = 'receipts' | 'history'

/**
 * As the form holds them: ids, a status, an order number and a customer's e-mail (as typed: the
 * relay reads them), and days (`YYYY-MM-DD`, both included).
 */
export interface Filters { lab: string; user: string; front: string; status: string; number: string; email: string; since: string; until: string }

export const NO_FILTERS: Filters = { lab: '', user: '', front: '', status: '', number: '', email: '', since: '', until: '' }
const TOKEN_KEY = 'labsync.admin-token'
/**
 * The labs as last read, kept beside the token: a reload shows them at once while they are read
 * again, instead of an empty panel that grows when they arrive and pushes the page down.
 */
const LABS_KEY = 'labsync.admin-labs'
export const PAGE_SIZE = 50

/** The day after `YYYY-MM-DD`: the relay's `until` excludes its day, the form's includes it. */
export function dayAfter(day: string): string {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
}

/**
 * The relay's query for the filters. The charts take no status (receipts and history name theirs
 * apart), and no number or e-mail: they show the days around one order, not that order alone.
 */
export function queryOf(filters: Filters, listing: boolean): Query {
  const { lab, user, front, status, number, email, since, until } = filters
  return { lab, user, front, ...(listing ? { status, number, email } : {}), since, until: until ? dayAfter(until) : '' }
}

/** The relay refused the token itself, not the request. */
const isRefusal = (error: unknown): boolean => error instanceof AdminApiError && (error.status === 401 || error.status === 403)

const isAbort = (error: unknown): boolean => error instanceof DOMException && error.name === 'AbortError'

/** The labs kept by the last page in this tab, or none (nothing kept, or not readable). */
function lastLabs(): LabStatus[] {
  try {
    const labs: unknown = JSON.parse(sessionStorage.getItem(LABS_KEY) ?? '[]')
    return Array.isArray(labs) ? (labs as LabStatus[]) : []
  } catch {
    return []
  }
}

type Listing = { view: 'receipts'; page: Page<ReceiptRow> } | { view: 'history'; page: Page<HistoryRow> }

export class AuditController implements ReactiveController {
  token: string | null = null
  view: View = 'receipts'
  filters: Filters = NO_FILTERS
  receipts: Page<ReceiptRow> | null = null
  history: Page<HistoryRow> | null = null
  labs: LabStatus[] = []
  daily: DailyReport | null = null
  /** The last request's failure, in the relay's words; a new request clears it. */
  error = ''
  /** Why the page signed out by itself (the relay stopped accepting the token). */
  private signedOutBecause = ''
  /** The cursor each page shown so far was read from; the last is the current page's. */
  private cursors: Array<string | null> = [null]

  /** The current page of the listing: again whenever the token, the view, the filters or the cursor change. */
  private readonly listing: Task<readonly [string | null, View, Filters, string | null], Listing>
  /** The labs and the charts: again whenever the token or the filters change, not for another page. */
  private readonly overview: Task<readonly [string | null, Filters], { labs: LabStatus[]; daily: DailyReport }>
  /** The token typed in the form, tried on the labs' status before it is kept. */
  private readonly signInCheck: Task<readonly [string], { token: string; labs: LabStatus[] }>
  private readonly csv: Task<readonly [string, View, Query], void>

  constructor(private readonly host: ReactiveControllerHost, private readonly api: (token: string) => AdminApi = (token) => new AdminApi(token)) {
    host.addController(this)
    this.listing = new Task(host, {
      args: () => [this.token, this.view, this.filters, this.cursors[this.cursors.length - 1]] as const,
      task: ([token, view, filters, after], { signal }) => token ? this.loadPage(token, view, filters, after, signal) : initialState,
      onComplete: (listing) => {
        // The relay sends the filter's totals with its first page only: later pages keep them (a
        // change of filters starts again at a first page, which brings its own).
        if (listing.view === 'receipts') this.receipts = { ...listing.page, totals: listing.page.totals ?? this.receipts?.totals }
        else this.history = listing.page
      },
      onError: (error) => this.fail(error),
    })
    this.overview = new Task(host, {
      args: () => [this.token, this.filters] as const,
      task: ([token, filters], { signal }) => token ? this.loadOverview(token, filters, signal) : initialState,
      onComplete: ({ labs, daily }) => { this.keepLabs(labs); this.daily = daily },
      onError: (error) => this.fail(error),
    })
    this.signInCheck = new Task(host, {
      autoRun: false,
      task: async ([token], { signal }) => ({ token, labs: await this.api(token).labs(signal) }),
      onComplete: ({ token, labs }) => {
        sessionStorage.setItem(TOKEN_KEY, token)
        this.token = token
        this.keepLabs(labs)
      },
    })
    this.csv = new Task(host, {
      autoRun: false,
      task: ([token, view, query], { signal }) => this.save(token, view, query, signal),
      onError: (error) => this.fail(error),
    })
  }

  hostConnected(): void {
    // The tasks see the token on the host's next update and load the page.
    this.token = sessionStorage.getItem(TOKEN_KEY)
    if (this.token) this.labs = lastLabs()
  }

  hostDisconnected(): void {
    for (const task of [this.listing, this.overview, this.signInCheck, this.csv]) task.abort()
  }

  get pageNumber(): number {
    return this.cursors.length
  }

  get loading(): boolean {
    return [this.listing, this.overview, this.csv].some((task) => task.status === TaskStatus.PENDING)
  }

  get busy(): boolean {
    return this.signInCheck.status === TaskStatus.PENDING
  }

  get signInError(): string {
    if (this.signInCheck.status !== TaskStatus.ERROR) return this.signedOutBecause
    const error = this.signInCheck.error
    return isRefusal(error) ? 'That is not an admin token of this relay.' : (error as Error).message
  }

  signIn(token: string): Promise<void> {
    const candidate = token.trim()
    if (!candidate) return Promise.resolve()
    this.signedOutBecause = ''
    return this.signInCheck.run([candidate])
  }

  signOut(message = ''): void {
    sessionStorage.removeItem(TOKEN_KEY)
    sessionStorage.removeItem(LABS_KEY)
    // Without a token the tasks go back to their initial state, dropping any answer still on its way.
    Object.assign(this, { token: null, receipts: null, history: null, labs: [], daily: null, error: '', signedOutBecause: message })
    this.cursors = [null]
    this.host.requestUpdate()
  }

  setView(view: View): void {
    if (view === this.view) return
    this.view = view
    this.filters = { ...this.filters, status: '' } // receipts and history have different statuses
    this.moveTo([null])
  }

  setFilters(filters: Filters): void {
    this.filters = filters
    this.moveTo([null])
  }

  nextPage(): void {
    const next = this.current?.next
    if (next) this.moveTo([...this.cursors, next])
  }

  previousPage(): void {
    if (this.cursors.length > 1) this.moveTo(this.cursors.slice(0, -1))
  }

  get current(): Page<ReceiptRow> | Page<HistoryRow> | null {
    return this.view === 'receipts' ? this.receipts : this.history
  }

  /** Saves the whole filtered listing as the relay's CSV file. */
  download(): Promise<void> {
    if (!this.token) return Promise.resolve()
    return this.csv.run([this.token, this.view, queryOf(this.filters, true)])
  }

  private moveTo(cursors: Array<string | null>): void {
    this.cursors = cursors
    this.host.requestUpdate()
  }

  private async loadPage(token: string, view: View, filters: Filters, after: string | null, signal: AbortSignal): Promise<Listing> {
    this.error = ''
    const query = { ...queryOf(filters, true), limit: String(PAGE_SIZE) }
    const api = this.api(token)
    return view === 'receipts'
      ? { view, page: await api.page<ReceiptRow>('receipts', query, after, signal) }
      : { view, page: await api.page<HistoryRow>('history', query, after, signal) }
  }

  private async loadOverview(token: string, filters: Filters, signal: AbortSignal): Promise<{ labs: LabStatus[]; daily: DailyReport }> {
    this.error = ''
    const api = this.api(token)
    const [labs, daily] = await Promise.all([api.labs(signal), api.daily(queryOf(filters, false), signal)])
    return { labs, daily }
  }

  private async save(token: string, view: View, query: Query, signal: AbortSignal): Promise<void> {
    this.error = ''
    const { blob, filename } = await this.api(token).csv(view, query, signal)
    const url = URL.createObjectURL(blob)
    const link = Object.assign(document.createElement('a'), { href: url, download: filename })
    document.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }

  private keepLabs(labs: LabStatus[]): void {
    this.labs = labs
    sessionStorage.setItem(LABS_KEY, JSON.stringify(labs))
  }

  /** A refused token signs the page out; any other failure is shown until the next request. */
  private fail(error: unknown): void {
    if (isAbort(error)) return // the page went away: nobody waits for the answer
    if (isRefusal(error)) this.signOut('The relay no longer accepts this token; please sign in again.')
    else this.error = (error as Error).message
  }
}
