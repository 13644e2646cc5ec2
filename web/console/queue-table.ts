// The waiting orders: number, customer, received time, each item (thumbnail, size, copies,
// frame, printer), state and reason, and the order's buttons. Only renders; actions go up as
// `order-action` events.
import { LitElement, css, html, nothing } from 'lit'
import type { ConsoleItem, ConsoleOrder, OrderAction } from '../../shared/console-wire.ts'
import type { ConsoleApi } from './api.ts'
import { orderLabel, printerName, timeOf } from './format.ts'
import './thumb.ts'

export interface OrderActionDetail { order: string; action: OrderAction; label: string }

export class ConsoleQueue extends LitElement {
  static override properties = { orders: { attribute: false }, api: { attribute: false }, pending: { attribute: false }, auto: { type: Boolean }, timeZone: {} }
  declare orders: ConsoleOrder[]
  declare api: ConsoleApi | null
  declare pending: ReadonlySet<string>
  declare auto: boolean
  declare timeZone: string | undefined

  static override styles = css`
    :host { display: block; }
    table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #d9dedc; border-radius: 10px; overflow: hidden; }
    th, td { text-align: left; vertical-align: top; padding: 10px 12px; border-bottom: 1px solid #e4e8e6; }
    thead th { background: #eef1f0; font-size: 0.85rem; color: #33403d; }
    .number { font-size: 1.35rem; font-weight: 800; letter-spacing: 0.04em; }
    .muted { color: #4a5553; font-size: 0.85rem; }
    ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
    li { display: flex; gap: 10px; align-items: center; }
    .copies { font-weight: 700; }
    .state { display: inline-block; padding: 2px 8px; border-radius: 999px; background: #e4e8e6; font-weight: 600; font-size: 0.85rem; }
    .state.printing, .state.retry { background: #dcebff; color: #0b3d8c; }
    .state.failed { background: #fdecec; color: #7f1414; }
    .state.held, .onhold { background: #fff3d6; color: #6b4500; }
    .onhold { display: inline-block; margin-left: 6px; padding: 2px 8px; border-radius: 999px; font-weight: 700; font-size: 0.85rem; }
    .actions { display: flex; gap: 6px; flex-wrap: wrap; }
    button { font: inherit; font-weight: 600; min-height: 36px; padding: 6px 14px; border-radius: 6px; border: 1px solid #0b5c53; background: #fff; color: #0b5c53; cursor: pointer; }
    button.primary { background: #0b5c53; color: #fff; }
    button:disabled { opacity: 0.5; cursor: not-allowed; }
    :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
    .empty { padding: 24px; text-align: center; background: #fff; border: 1px dashed #b9c2bf; border-radius: 10px; }
    td.items { min-width: 240px; }
    /* A phone or a narrow window: each order is a card (the table would run off the screen). */
    @media (max-width: 720px) {
      table, tbody, tr, th, td { display: block; }
      thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
      tr { border-bottom: 6px solid #f6f7f5; }
      th, td { border-bottom: none; padding: 6px 12px; }
      td.items { min-width: 0; }
      caption { display: block; padding: 6px 0 0; }
      td[data-label]::before { content: attr(data-label); display: block; color: #4a5553; font-size: 0.8rem; font-weight: 600; }
      .actions { padding-bottom: 6px; }
    }
  `

  constructor() {
    super()
    this.orders = []
    this.api = null
    this.pending = new Set()
    this.auto = false
  }

  override render() {
    if (this.orders.length === 0) return html`<p class="empty">No orders are waiting.</p>`
    return html`
      <table>
        <caption class="muted" style="caption-side: bottom; text-align: left; padding-top: 6px">Oldest first; refreshed every 2 seconds.</caption>
        <thead><tr><th scope="col">Order</th><th scope="col">Customer</th><th scope="col">Received</th><th scope="col">Items</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
        <tbody>${this.orders.map((order) => this.row(order))}</tbody>
      </table>`
  }

  private row(order: ConsoleOrder) {
    const label = orderLabel(order)
    const busy = this.pending.has(order.id)
    return html`<tr>
      <th scope="row"><div class="number">${label}</div><div class="muted">${order.id}</div></th>
      <td data-label="Customer">${order.customer.name ?? html`<span class="muted">account</span> <span title=${order.customer.id ?? ''}>${order.customer.id ? `${order.customer.id.slice(0, 8)}…` : '…'}</span>`}<div class="muted">${order.front}</div></td>
      <td data-label="Received">${timeOf(order.receivedAt, this.timeZone)}</td>
      <td class="items" data-label="Items">${order.problem ? html`<span class="muted">${order.problem}</span>` : order.items.length ? html`<ul>${order.items.map((item) => this.item(order, item))}</ul>` : html`<span class="muted">loading…</span>`}</td>
      <td data-label="State">
        <span class="state ${order.state}">${order.state}</span>${order.held ? html`<span class="onhold">on hold</span>` : nothing}
        ${order.reason ? html`<div class="muted">${order.reason}</div>` : nothing}
      </td>
      <td><div class="actions" role="group" aria-label="Order ${label}">
        <button class="primary" ?disabled=${busy || order.held} @click=${() => this.fire(order, 'print', 'Print')} aria-label="Print order ${label}">Print</button>
        ${order.held
          ? html`<button ?disabled=${busy} @click=${() => this.fire(order, 'release', 'Release')} aria-label="Release order ${label}">Release</button>`
          : html`<button ?disabled=${busy} @click=${() => this.fire(order, 'hold', 'Hold')} aria-label="Hold order ${label}">Hold</button>`}
      </div></td>
    </tr>`
  }

  private item(order: ConsoleOrder, item: ConsoleItem) {
    return html`<li>
      <ls-console-thumb .api=${this.api} src=${item.thumbnail} alt="Photo ${item.index + 1} of order ${orderLabel(order)}"></ls-console-thumb>
      <div>
        <div>${item.productName}${item.productName.replace(/x/g, '×').includes(item.size) ? nothing : html` <span class="muted">${item.size}</span>`}</div>
        <div><span class="copies">× ${item.copies}</span> · ${item.templateName}</div>
        <div class="muted">→ ${printerName(item.printer)}${item.job ? ` · job ${item.job.state}` : ''}</div>
      </div>
    </li>`
  }

  private fire(order: ConsoleOrder, action: OrderAction, verb: string): void {
    this.dispatchEvent(new CustomEvent<OrderActionDetail>('order-action', { detail: { order: order.id, action, label: `${verb} order ${orderLabel(order)}` }, bubbles: true, composed: true }))
  }
}

customElements.define('ls-console-queue', ConsoleQueue)
