// Today's history, one block per order (newest first): what printed, reprints with their reason,
// ready and collected; buttons for ready, collected and a reprint of chosen items with a reason.
import { LitElement, css, html, nothing } from 'lit'
import type { HistoryRow, HistoryView, ReprintRequest } from '../../shared/console-wire.ts'
import { printerName, timeOf } from './format.ts'
import type { OrderActionDetail } from './queue-table.ts'

export class ConsoleHistory extends LitElement {
  static override properties = { history: { attribute: false }, pending: { attribute: false }, reprinting: { state: true } }
  declare history: HistoryView | null
  declare pending: ReadonlySet<string>
  /** The order whose reprint form is open. */
  declare reprinting: string | null

  static override styles = css`
    :host { display: grid; gap: 10px; }
    article { background: #fff; border: 1px solid #d9dedc; border-radius: 10px; padding: 10px 12px; display: grid; gap: 6px; }
    header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
    h3 { margin: 0; font-size: 1.1rem; }
    .muted { color: #4a5553; font-size: 0.85rem; }
    ul { margin: 0; padding-left: 18px; font-size: 0.9rem; }
    .reprint { color: #6b4500; font-weight: 600; }
    .actions { display: flex; gap: 6px; flex-wrap: wrap; }
    button { font: inherit; font-weight: 600; min-height: 36px; padding: 6px 14px; border-radius: 6px; border: 1px solid #0b5c53; background: #fff; color: #0b5c53; cursor: pointer; }
    button.primary { background: #0b5c53; color: #fff; }
    button:disabled { opacity: 0.5; cursor: not-allowed; }
    :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
    form { display: grid; gap: 8px; border-top: 1px solid #e4e8e6; padding-top: 8px; }
    fieldset { border: 1px solid #d9dedc; border-radius: 6px; display: flex; gap: 12px; flex-wrap: wrap; }
    input[type='text'] { font: inherit; padding: 6px 8px; min-height: 36px; border: 1px solid #7a8583; border-radius: 6px; }
    label { font-weight: 600; }
  `

  constructor() {
    super()
    this.history = null
    this.pending = new Set()
    this.reprinting = null
  }

  override render() {
    const rows = this.history?.rows ?? []
    if (rows.length === 0) return html`<p class="muted">Nothing printed yet today.</p>`
    const orders = new Map<string, HistoryRow[]>()
    for (const row of rows) orders.set(row.order, [...(orders.get(row.order) ?? []), row])
    return [...orders].map(([order, entries]) => this.order(order, entries))
  }

  private order(order: string, entries: HistoryRow[]) {
    const label = entries.find((e) => e.number)?.number ?? order
    const busy = this.pending.has(order)
    const items = [...new Set(entries.filter((e) => e.item >= 0).map((e) => e.item))].sort((a, b) => a - b)
    const tz = this.history?.timeZone
    const collected = entries.some((e) => e.status === 'collected')
    return html`<article aria-labelledby="h-${order}">
      <header><h3 id="h-${order}">${label}</h3><span class="muted">${order}</span></header>
      <ul>${entries.map((e) => html`<li>${timeOf(e.at, tz)} · ${this.describe(e)}</li>`)}</ul>
      <div class="actions" role="group" aria-label="Order ${label}">
        <button ?disabled=${busy || collected} @click=${() => this.fire(order, 'ready', `Ready order ${label}`)} aria-label="Order ${label} ready for pickup">Ready for pickup</button>
        <button ?disabled=${busy || collected} @click=${() => this.fire(order, 'collected', `Collected order ${label}`)} aria-label="Order ${label} collected">Collected</button>
        <button ?disabled=${busy} aria-expanded=${this.reprinting === order ? 'true' : 'false'} @click=${() => (this.reprinting = this.reprinting === order ? null : order)} aria-label="Reprint order ${label}…">Reprint…</button>
      </div>
      ${this.reprinting === order ? this.reprintForm(order, label, items) : nothing}
    </article>`
  }

  private describe(e: HistoryRow) {
    if (e.status === 'reprint') return html`<span class="reprint">reprint of item(s) ${(e.items ?? []).map((i) => i + 1).join(', ')}: ${e.reason ?? ''}</span>`
    if (e.item < 0) return e.status
    const job = `item ${e.item + 1} ${e.status}, ${e.copies} cop${e.copies === 1 ? 'y' : 'ies'} on ${printerName(e.printer)} (job ${e.job})`
    return e.reprint ? html`${job} <span class="reprint">reprint</span>` : job
  }

  private reprintForm(order: string, label: string, items: number[]) {
    const submit = (event: SubmitEvent) => {
      event.preventDefault()
      const form = new FormData(event.target as HTMLFormElement)
      const chosen = form.getAll('item').map(Number)
      if (items.length && chosen.length === 0) return
      const body: ReprintRequest = { reason: String(form.get('reason') ?? ''), ...(chosen.length && chosen.length < items.length ? { items: chosen } : {}) }
      this.fire(order, 'reprint', `Reprint order ${label}`, body)
      this.reprinting = null
    }
    return html`<form @submit=${submit} aria-label="Reprint order ${label}">
      ${items.length ? html`<fieldset><legend>Items to print again</legend>
        ${items.map((i) => html`<label><input type="checkbox" name="item" value=${i} checked> Item ${i + 1}</label>`)}</fieldset>` : nothing}
      <label for="reason-${order}">Reason (recorded in the history)</label>
      <input id="reason-${order}" type="text" name="reason" required maxlength="200" placeholder="e.g. colour cast, smudged">
      <div class="actions"><button class="primary" type="submit">Reprint</button><button type="button" @click=${() => (this.reprinting = null)}>Cancel</button></div>
    </form>`
  }

  private fire(order: string, action: OrderActionDetail['action'], label: string, body?: ReprintRequest): void {
    this.dispatchEvent(new CustomEvent<OrderActionDetail & { body?: ReprintRequest }>('order-action', { detail: { order, action, label, body }, bubbles: true, composed: true }))
  }
}

customElements.define('ls-console-history', ConsoleHistory)
