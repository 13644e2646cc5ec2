// The /admin/ page: sign in with an admin token, then the labs' status, charts of the period,
// and receipts or printing history page by page with CSV downloads. State lives in AuditController.
import { LitElement, css, html, nothing } from 'lit'
import { formatMoney } from '../../shared/pricing.ts'
import type { DailyReport, HistoryRow, ReceiptRow } from '../../shared/audit.ts'
import { AuditController, PAGE_SIZE, type Filters, type View } from './audit-controller.ts'
import { PALETTE, type Series } from './bar-chart.ts'
import './bar-chart.ts'
import './filters.ts'
import { totalsLine } from './listings.ts'

export class AdminApp extends LitElement {
  static override properties = {}

  private readonly audit = new AuditController(this)

  static override styles = css`
    :host { display: block; min-height: 100vh; }
    header { background: #0b3d38; color: #fff; }
    .bar { max-width: 80rem; margin: 0 auto; padding: 0.625rem 1.25rem; display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
    h1 { font-size: 1.2rem; margin: 0; }
    h2 { font-size: 1.05rem; margin: 0 0 0.5rem; }
    main { max-width: 80rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; display: grid; gap: 1.25rem; }
    section { display: grid; gap: 0.625rem; }
    .card { background: #fff; border: 1px solid #d9dedc; border-radius: 0.625rem; padding: 0.75rem 0.875rem; }
    .charts { display: grid; gap: 0.875rem; grid-template-columns: repeat(auto-fit, minmax(min(20rem, 100%), 1fr)); }
    nav[aria-label='Listing'] { display: flex; gap: 0.25rem; }
    nav button[aria-pressed='true'] { background: #fff; color: #0b3d38; }
    button { font: inherit; font-weight: 600; min-height: 2.25rem; padding: 0.375rem 0.875rem; border-radius: 0.375rem; border: 1px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    main button { color: #0b5c53; background: #fff; }
    main button.primary { background: #0b5c53; color: #fff; border-color: #0b5c53; }
    button:disabled { opacity: 0.5; cursor: not-allowed; }
    :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
    .pager { display: flex; gap: 0.625rem; align-items: center; flex-wrap: wrap; }
    .spacer { flex: 1; }
    /* One line kept for the totals before they arrive, so the table below does not move when they do. */
    .totals { margin: 0; min-height: 1.45em; }
    .notice { border-radius: 0.5rem; padding: 0.5rem 0.75rem; }
    .notice.error { background: #fdecec; color: #7f1414; border: 1px solid #e8a3a3; }
    .muted { color: #4a5553; font-size: 0.9rem; }
    main.sign-in { max-width: 26.25rem; margin: 10vh auto 0; padding: 0 1rem; display: block; }
    form.sign-in { display: grid; gap: 0.625rem; }
    form.sign-in h1 { color: #0b3d38; }
    form.sign-in input { font: inherit; box-sizing: border-box; padding: 0.5rem 0.625rem; min-height: 2.75rem; border: 1px solid #7a8583; border-radius: 0.375rem; }
    label { font-weight: 700; }
  `

  override render() {
    const audit = this.audit
    if (!audit.token) return this.renderSignIn()
    const view = audit.view
    const timeZone = audit.daily?.timeZone
    return html`
      <header>
        <div class="bar">
          <h1>labsync admin</h1>
          <nav aria-label="Listing">
            ${this.tab('receipts', 'Receipts')}
            ${this.tab('history', 'Printing history')}
          </nav>
          <button type="button" @click=${() => audit.signOut()}>Sign out</button>
        </div>
      </header>
      <main aria-busy=${audit.loading ? 'true' : 'false'}>
        ${audit.error ? html`<p class="notice error" role="alert">${audit.error}</p>` : nothing}
        <section aria-labelledby="labs-heading">
          <h2 id="labs-heading">Labs</h2>
          <ls-admin-labs .labs=${audit.labs} .timeZone=${timeZone} ?loading=${!audit.daily}></ls-admin-labs>
        </section>
        <section class="card">
          <ls-admin-filters .filters=${audit.filters} .labs=${audit.labs} .view=${view}
            @filters=${(event: CustomEvent<Filters>) => audit.setFilters(event.detail)}></ls-admin-filters>
        </section>
        ${this.renderCharts(audit.daily)}
        <section aria-labelledby="listing-heading">
          <div class="pager">
            <h2 id="listing-heading">${view === 'receipts' ? 'Receipts and discounts' : 'Printing history'}</h2>
            <span class="spacer"></span>
            <button type="button" class="primary" @click=${() => audit.download()}>Download CSV</button>
          </div>
          ${view === 'receipts' ? this.renderTotals() : nothing}
          ${view === 'receipts'
            ? html`<ls-admin-receipts .rows=${(audit.receipts?.rows ?? null) as ReceiptRow[] | null} .timeZone=${timeZone}></ls-admin-receipts>`
            : html`<ls-admin-history .rows=${(audit.history?.rows ?? null) as HistoryRow[] | null} .timeZone=${timeZone}></ls-admin-history>`}
          ${audit.current ? this.renderPager() : nothing}
        </section>
      </main>`
  }

  /** The filtered period's totals; its line is there, empty, before they arrive. */
  private renderTotals() {
    const totals = this.audit.receipts?.totals
    return html`<p class="muted totals" ?data-totals=${!!totals} aria-live="polite">${totals ? `For these filters: ${totalsLine(totals, this.audit.daily?.currency)}` : ''}</p>`
  }

  /**
   * Under the table, and only once its first page is there: nothing sits below the table while it
   * loads, so the rows arriving move nothing (a layout shift).
   */
  private renderPager() {
    const audit = this.audit
    return html`
      <div class="pager">
        <button type="button" ?disabled=${audit.pageNumber < 2 || audit.loading} @click=${() => audit.previousPage()}>Previous</button>
        <span class="muted" aria-live="polite">Page ${audit.pageNumber}${audit.loading ? ' · loading…' : ''} (${PAGE_SIZE} a page)</span>
        <button type="button" ?disabled=${!audit.current?.next || audit.loading} @click=${() => audit.nextPage()}>Next</button>
      </div>`
  }

  private tab(view: View, label: string) {
    return html`<button type="button" aria-pressed=${this.audit.view === view ? 'true' : 'false'} @click=${() => this.audit.setView(view)}>${label}</button>`
  }

  private renderSignIn() {
    const audit = this.audit
    return html`
      <main class="sign-in">
        <form class="sign-in card" @submit=${(event: SubmitEvent) => {
          event.preventDefault()
          void audit.signIn(String(new FormData(event.target as HTMLFormElement).get('token') ?? ''))
        }}>
          <h1>labsync admin</h1>
          <p class="muted">Audit receipts, discounts and printing history. The token stays in this tab only.</p>
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="off" required>
          ${audit.signInError ? html`<p class="notice error" role="alert">${audit.signInError}</p>` : nothing}
          <button class="primary" type="submit" ?disabled=${audit.busy}>${audit.busy ? 'Checking…' : 'Sign in'}</button>
        </form>
      </main>`
  }

  /**
   * The three charts, drawn at their full size before the figures arrive (empty, "Loading…"), so
   * the listing below them does not move when they do.
   */
  private renderCharts(daily: DailyReport | null) {
    if (!daily) {
      return this.chartsSection('Daily figures', html`
        ${['Prints per day per lab', 'Orders per day', 'Discounts given per day'].map((heading) =>
          html`<div class="card"><ls-admin-bar-chart heading=${heading} loading></ls-admin-bar-chart></div>`)}`)
    }
    const days = daily.days.map((d) => d.day)
    const labs = [...new Set(daily.days.flatMap((d) => Object.keys(d.prints)))].sort()
    const names = new Map(this.audit.labs.map((lab) => [lab.id, lab.name]))
    const prints: Series[] = labs.map((lab, i) => ({ name: names.get(lab) ?? lab, color: PALETTE[i % PALETTE.length], values: daily.days.map((d) => d.prints[lab] ?? 0) }))
    const orders: Series[] = [{ name: 'Orders', color: PALETTE[2], values: daily.days.map((d) => d.orders) }]
    const discounts: Series[] = [{ name: 'Discounts', color: PALETTE[1], values: daily.days.map((d) => d.discountAmount) }]
    const money = (value: number) => formatMoney(Math.round(value), daily.currency)
    return this.chartsSection(html`${days[0]} to ${days[days.length - 1]} <span class="muted">(${daily.timeZone})</span>`, html`
      <div class="card"><ls-admin-bar-chart heading="Prints per day per lab" .days=${days} .series=${prints}></ls-admin-bar-chart></div>
      <div class="card"><ls-admin-bar-chart heading="Orders per day" .days=${days} .series=${orders}></ls-admin-bar-chart></div>
      <div class="card"><ls-admin-bar-chart heading="Discounts given per day" .days=${days} .series=${discounts} .format=${money}></ls-admin-bar-chart></div>`)
  }

  private chartsSection(heading: unknown, charts: unknown) {
    return html`
      <section aria-labelledby="charts-heading">
        <h2 id="charts-heading">${heading}</h2>
        <div class="charts">${charts}</div>
      </section>`
  }
}

customElements.define('ls-admin-app', AdminApp)
