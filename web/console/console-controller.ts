// The console's state for the page: the operator token (the browser's Basic credentials the page
// was opened with, else one typed in, kept in sessionStorage so it goes with the tab),
// the queue, printers and today's history refreshed every 2 s, and the operator's actions with
// what the lab node answered. Components only render what this holds.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { HistoryView, OrderAction, PrinterView, QueueView, ReprintRequest } from '../../shared/console-wire.ts'
import { ConsoleApi, ConsoleApiError } from './api.ts'

const TOKEN_KEY = 'labsync-operator-token'
export const REFRESH_MS = 2_000

export class ConsoleController implements ReactiveController {
  /** The token typed into the page; null when the browser's Basic credentials are used (or none work). */
  token: string | null = sessionStorage.getItem(TOKEN_KEY)
  /** Null until some credentials work: the page shows its sign-in form. */
  api: ConsoleApi | null = new ConsoleApi(this.token)
  queue: QueueView | null = null
  printers: PrinterView[] = []
  history: HistoryView | null = null
  /** The last problem talking to the lab node; cleared by the next good answer. */
  error: string | null = null
  /** What the last action did, said to the operator (a live region reads it out). */
  notice: string | null = null
  /** Orders with an action on its way: their buttons wait. */
  readonly pending = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private refreshing: AbortController | null = null

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  hostConnected(): void {
    if (this.api) void this.refresh()
  }

  hostDisconnected(): void {
    this.stop()
  }

  /** Checks the token against the lab node before keeping it. */
  async signIn(token: string): Promise<void> {
    const api = new ConsoleApi(token.trim())
    try {
      await api.printers()
    } catch (error) {
      this.error = error instanceof ConsoleApiError && error.status === 401 ? 'That is not the operator token.' : (error as Error).message
      this.host.requestUpdate()
      return
    }
    sessionStorage.setItem(TOKEN_KEY, token.trim())
    this.token = token.trim()
    this.api = api
    this.error = null
    await this.refresh()
  }

  /** Forgets the typed token (the browser keeps Basic credentials until it closes); `stale`: the lab node refused it. */
  signOut(stale = false): void {
    sessionStorage.removeItem(TOKEN_KEY)
    this.stop()
    Object.assign(this, { token: null, api: null, queue: null, printers: [], history: null, error: stale ? 'The operator token was refused; sign in again.' : null, notice: null })
    this.host.requestUpdate()
  }

  /** Asks for everything now, then again every REFRESH_MS. */
  async refresh(): Promise<void> {
    const api = this.api
    if (!api) return
    if (this.timer) clearTimeout(this.timer)
    this.refreshing?.abort()
    const controller = (this.refreshing = new AbortController())
    try {
      const [queue, printers, history] = await Promise.all([api.queue(controller.signal), api.printers(controller.signal), api.history(controller.signal)])
      Object.assign(this, { queue, printers, history, error: null })
    } catch (error) {
      if (controller.signal.aborted) return
      if (error instanceof ConsoleApiError && error.status === 401) return this.signOut(this.token !== null)
      this.error = (error as Error).message
    }
    if (this.refreshing !== controller) return
    this.refreshing = null
    this.host.requestUpdate()
    if (this.api === api) this.timer = setTimeout(() => void this.refresh(), REFRESH_MS)
  }

  async act(order: string, action: OrderAction, label: string, body?: ReprintRequest): Promise<boolean> {
    if (!this.api) return false
    this.pending.add(order)
    this.host.requestUpdate()
    let done = false
    try {
      const result = await this.api.act(order, action, body)
      this.notice = `${label}: ${result.message}.`
      this.error = null
      done = true
    } catch (error) {
      this.error = `${label}: ${(error as Error).message}`
    } finally {
      this.pending.delete(order)
    }
    await this.refresh()
    return done
  }

  /** The first waiting order not on hold, not failed. */
  async printNext(): Promise<void> {
    const next = this.printable()[0]
    if (next) await this.act(next.id, 'print', `Order ${next.number ?? next.id}`)
    else this.notice = 'Nothing is waiting to print.'
    this.host.requestUpdate()
  }

  /** Every waiting order not on hold, oldest first (the lab prints them one by one). */
  async printAll(): Promise<void> {
    const orders = this.printable()
    for (const order of orders) await this.act(order.id, 'print', `Order ${order.number ?? order.id}`)
    this.notice = orders.length ? `${orders.length} order(s) asked for, oldest first.` : 'Nothing is waiting to print.'
    this.host.requestUpdate()
  }

  private printable() {
    return (this.queue?.orders ?? []).filter((order) => !order.held && (order.state === 'queued' || order.state === 'held'))
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.refreshing?.abort()
    this.refreshing = null
  }
}
