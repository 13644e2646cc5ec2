// The admin page's tables: receipts (with discount decisions) and printing history, one page at
// a time, and the labs' status. Times are shown in the relay's time zone, money in its currency.
import { LitElement, css, html, nothing, type TemplateResult } from 'lit'
import { formatMoney } from '../../shared/pricing.ts'
import { discountBy, itemNumber, printerStates, type HistoryRow, type LabStatus, type ReceiptRow, type ReceiptTotals } from '../../shared/audit.ts'
import type { DiscountDecision } from '../../shared/schema.ts'

const formats = new Map<string, Intl.DateTimeFormat>()

export function formatTime(iso: string | null, timeZone: string | undefined): string {
  if (!iso) return ''
  const key = timeZone ?? ''
  let format = formats.get(key)
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', ...(timeZone ? { timeZone } : {}) })
    formats.set(key, format)
  }
  return format.format(new Date(iso))
}

const tableStyles = css`
  /* min-width 0: as a grid item the host would otherwise grow to the table's width and widen the page. */
  :host { display: block; min-width: 0; }
  /* A wide table scrolls sideways inside its own region (on a phone it is far wider than the
     screen): the region takes keyboard focus and has a name, so arrow keys can scroll it. */
  .scroll { overflow-x: auto; border-radius: 0.25rem; }
  .scroll:focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
  table { width: 100%; border-collapse: collapse; font-size: 0.9rem; background: #fff; }
  th, td { text-align: left; padding: 0.375rem 0.5rem; border-bottom: 1px solid #e3e7e6; white-space: nowrap; vertical-align: top; }
  th { position: sticky; top: 0; background: #eef1f0; font-weight: 700; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.wrap { white-space: normal; max-width: 28ch; overflow-wrap: anywhere; }
  code { font-size: 0.85rem; }
  .status { font-weight: 700; }
  .number { font-weight: 700; letter-spacing: 0.08em; font-variant-numeric: tabular-nums; }
  .status.rejected, .status.cancelled, .status.aborted, .status.canceled { color: #9b1c1c; }
  .status.accepted, .status.completed { color: #0b5c53; }
  .status.waiting { color: #7a4b00; }
  .muted { color: #4a5553; }
  .empty { padding: 1rem 0.5rem; margin: 0; color: #4a5553; }
`

/** `rows` null: the page's data is still on its way. */
function table(headers: Array<[string, boolean?]>, rows: TemplateResult[] | null, label: string): TemplateResult {
  if (rows === null) return html`<p class="empty" role="status">Loading…</p>`
  if (rows.length === 0) return html`<p class="empty">No rows match these filters.</p>`
  return html`
    <div class="scroll" role="region" tabindex="0" aria-label="${label} table">
      <table aria-label=${label}>
        <thead><tr>${headers.map(([header, numeric]) => html`<th scope="col" class=${numeric ? 'num' : ''}>${header}</th>`)}</tr></thead>
        <tbody>${rows}</tbody>
      </table>
    </div>`
}

export class ReceiptsTable extends LitElement {
  static override properties = { rows: { attribute: false }, timeZone: { type: String } }
  /** null until the first page arrives. */
  rows: ReceiptRow[] | null = null
  timeZone: string | undefined
  static override styles = tableStyles

  override render() {
    return table([['Received'], ['Number'], ['Order'], ['Customer'], ['Store'], ['Lab'], ['Status'], ['Total', true], ['Discount', true], ['Discount decision']],
      this.rows && this.rows.map((r) => html`
        <tr data-order=${r.order}>
          <td>${formatTime(r.receivedAt, this.timeZone)}</td>
          <td class="number">${r.number ?? ''}</td>
          <td><code>${r.order}</code></td>
          <td class="wrap">${customer(r)}</td>
          <td>${r.front}${r.pickupFront && r.pickupFront !== r.front ? html`<br><span class="muted">pickup at ${r.pickupFront}</span>` : nothing}</td>
          <td>${r.lab}</td>
          <td class="wrap"><span class="status ${r.status}">${r.status}</span>${r.error ? html` <span class="muted">${r.error}</span>` : nothing}${
            r.missing?.length ? html` <span class="muted">waiting for ${r.missing.length} photo${r.missing.length === 1 ? '' : 's'}: ${r.missing.map((sha) => html`<code>${sha.slice(0, 12)}…</code> `)}</span>` : nothing}</td>
          <td class="num">${r.status === 'waiting' ? '' : formatMoney(r.total, r.currency)}</td>
          <td class="num">${r.discountApplied ? formatMoney(-r.discountApplied, r.currency) : ''}</td>
          <td class="wrap">${r.discount || r.frontDiscount ? html`${this.decision('Lab', r.discount, discountBy(r.lines, 'lab'), r.currency)}${
            this.decision('Store', r.frontDiscount, discountBy(r.lines, 'front'), r.currency)}` : html`<span class="muted">none</span>`}</td>
        </tr>`), 'Receipts')
  }

  /** One discount decision: who gave it, within which period of which order, the tier and what it took off (negative). */
  private decision(who: string, d: DiscountDecision | null | undefined, taken: number, currency: string) {
    if (!d) return nothing
    return html`<div>${who}: within ${d.within} of <code>${d.previousOrder}</code> (${formatTime(d.previousReceivedAt, this.timeZone)});
      tier ${formatMoney(d.amount, currency)}, taken ${formatMoney(taken, currency)}</div>`
  }
}

/** The customer as people know them: name and e-mail; the account id only when the account is gone. */
function customer(r: ReceiptRow) {
  if (!r.name && !r.email) return html`<code>${r.user}</code>`
  return html`${r.name ?? ''}<br><span class="muted">${r.email ?? ''}</span>`
}

/** The sums of the filtered period under the receipts: orders, revenue, discounts (negative, who gave them). */
export function totalsLine(totals: ReceiptTotals | undefined, currency: string | undefined): string {
  if (!totals || !currency) return ''
  const money = (amount: number) => formatMoney(amount, currency)
  return `${totals.orders} accepted order${totals.orders === 1 ? '' : 's'} · revenue ${money(totals.revenue)} · lab discounts ${money(totals.labDiscount)} · store discounts ${money(totals.frontDiscount)}`
}

export class HistoryTable extends LitElement {
  static override properties = { rows: { attribute: false }, timeZone: { type: String } }
  /** null until the first page arrives. */
  rows: HistoryRow[] | null = null
  timeZone: string | undefined
  static override styles = tableStyles

  override render() {
    return table([['Printed'], ['Lab'], ['Order'], ['Item', true], ['Size'], ['Copies', true], ['Status'], ['Printer'], ['Job'], ['Customer'], ['Store']],
      this.rows && this.rows.map((h) => html`
        <tr data-entry=${h.id}>
          <td>${formatTime(h.printedAt, this.timeZone)}</td>
          <td>${h.lab}</td>
          <td><code>${h.order}</code></td>
          <td class="num">${itemNumber(h.item)}</td>
          <td>${h.size ?? ''}</td>
          <td class="num">${h.copies}</td>
          <td><span class="status ${h.status}">${h.status}</span></td>
          <td class="wrap">${h.printer}</td>
          <td>${h.job}</td>
          <td><code>${h.user ?? ''}</code></td>
          <td>${h.front ?? ''}</td>
        </tr>`), 'Printing history')
  }
}

/**
 * What a lab's card holds, to draw an invisible one of the same size while the labs are read for
 * the first time (a tab signed in before the page kept them): the page below does not move when
 * they arrive, as long as they fit in the card's row.
 */
function placeholderLab(now: string): LabStatus {
  return { id: 'lab', name: 'Loading labs', queue: 0, lastHistoryAt: now, lastPrintedAt: now, lastSeen: now, online: false, printers: [] }
}

export class LabsPanel extends LitElement {
  static override properties = { labs: { attribute: false }, timeZone: { type: String }, loading: { type: Boolean } }
  labs: LabStatus[] = []
  timeZone: string | undefined
  /** The labs are being read: with none known yet, one invisible card keeps their room. */
  loading = false
  static override styles = css`
    :host { display: block; }
    ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.625rem; grid-template-columns: repeat(auto-fill, minmax(min(14.5rem, 100%), 1fr)); }
    li { background: #fff; border: 1px solid #d9dedc; border-radius: 0.625rem; padding: 0.625rem 0.75rem; }
    h3 { margin: 0 0 0.25rem; font-size: 1rem; }
    h3 span { font-weight: 400; color: #4a5553; }
    dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 0.125rem 0.625rem; font-size: 0.85rem; }
    dt { color: #4a5553; }
    dd { margin: 0; font-variant-numeric: tabular-nums; }
    .queue { font-size: 1.4rem; font-weight: 800; }
    li.placeholder > * { visibility: hidden; }
  `

  override render() {
    const placeholder = this.labs.length === 0 && this.loading
    const labs = placeholder ? [placeholderLab(new Date().toISOString())] : this.labs
    return html`
      <ul aria-label="Labs" aria-busy=${placeholder ? 'true' : 'false'}>
        ${labs.map((lab) => html`
          <li data-lab=${placeholder ? nothing : lab.id} class=${placeholder ? 'placeholder' : ''} aria-hidden=${placeholder ? 'true' : nothing}>
            <h3>${lab.name} <span>${lab.id}</span></h3>
            <dl>
              <dt>Queue</dt><dd class="queue">${lab.queue ?? '–'}</dd>
              <dt>Last history</dt><dd>${formatTime(lab.lastHistoryAt, this.timeZone) || 'never'}</dd>
              <dt>Last printed</dt><dd>${formatTime(lab.lastPrintedAt, this.timeZone) || 'never'}</dd>
              <dt>Last seen</dt><dd>${formatTime(lab.lastSeen, this.timeZone) || 'not seen'}</dd>
              <dt>Now</dt><dd>${lab.online ? 'online' : 'offline'}</dd>
              <dt>Printers</dt><dd>${printerStates(lab.printers) || 'none reported'}</dd>
            </dl>
          </li>`)}
      </ul>`
  }
}

customElements.define('ls-admin-receipts', ReceiptsTable)
customElements.define('ls-admin-history', HistoryTable)
customElements.define('ls-admin-labs', LabsPanel)
