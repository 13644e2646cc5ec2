// The customer's orders, newest first, each with its sign (orders/stage.ts: the same words as the
// order's own page) and the total; and the button that starts a new order.
import { LitElement, css, html, nothing } from 'lit'
import { roomName, type Catalog } from '../../../shared/schema.ts'
import { OrderListController, type ListedOrder } from '../controllers/order.ts'
import { navigate } from '../controllers/route.ts'
import type { Services } from '../controllers/session.ts'
import { base } from './styles.ts'
import { formatShort, money, orderTitle, pickupFrontOf, plural, stageBadge } from './format.ts'

export class OrdersList extends LitElement {
  static override properties = {
    services: { attribute: false },
    catalog: { attribute: false },
    userId: { type: String },
  }

  services!: Services
  catalog: Catalog | null = null
  userId = ''

  private readonly list = new OrderListController(this, () => ({ services: this.services, catalog: this.catalog, userId: this.userId }))

  static override styles = [base, css`
    ul { list-style: none; margin: 0; padding: 0; }
    li a { display: flex; gap: 12px; color: inherit; text-decoration: none; }
    li a:hover .title { text-decoration: underline; }
    .thumbs { display: grid; grid-template-columns: repeat(2, 40px); grid-auto-rows: 40px; gap: 4px; flex: none; }
    .thumbs img, .thumbs span { width: 40px; height: 40px; object-fit: cover; border-radius: 6px; background: #e6eae8; display: block; }
    .summary { flex: 1; min-width: 0; display: grid; gap: 4px; justify-items: start; }
    .title { font-weight: 700; }
    .empty { text-align: center; padding: 32px 16px; }
    .top { margin-bottom: 16px; }
  `]

  override render() {
    const orders = this.list.orders
    return html`
      <div class="top spread">
        <h1>Your orders</h1>
        <button class="primary" @click=${this.newOrder}>New order</button>
      </div>
      ${this.refusalNotice()}
      ${orders.length === 0 ? html`
        <div class="card empty">
          <p><strong>No orders yet.</strong></p>
          <p class="muted">Start one with “New order”: pick photos, sizes and a store. It works offline too.</p>
        </div>` : html`
        <ul aria-label="Orders">
          ${orders.map((order) => html`<li class="card">${this.renderOrder(order)}</li>`)}
        </ul>`}
    `
  }

  /** A change to the customer's own document (their list, photos, profile) the relay refused. */
  private refusalNotice() {
    const room = roomName.user(this.services.workspace.userId)
    const refusal = this.services.workspace.refusal(room)
    if (!refusal) return nothing
    return html`
      <div class="notice error refusal" role="alert">
        <p>A change on this device was not accepted: ${refusal.reason}. Some orders or photos added here may not reach your other devices.</p>
        <button class="link" @click=${() => this.services.workspace.dismissRefusal(room)}>Dismiss</button>
      </div>`
  }

  private renderOrder({ view: order, standing }: ListedOrder) {
    const { stage, prints, price } = standing
    const store = this.frontName(order.spec.front)
    const title = orderTitle(order.spec, order.receipt)
    // The date goes under a numbered title; an unnumbered one already is the date.
    const dated = order.spec.state === 'draft' ? ` · started ${formatShort(order.spec.createdAt)}` : order.receipt?.number ? ` · ${formatShort(order.spec.createdAt)}` : ''
    // No aria-label: the link's name is its visible text (title, sign, prints, store, price), so a
    // screen reader hears what a sighted customer sees.
    return html`
      <a href="/orders/${order.id}">
        <div class="thumbs" aria-hidden="true">
          ${order.spec.items.slice(0, 4).map((item) => {
            const url = this.services.photos.thumbUrl(item.image)
            return url ? html`<img src=${url} alt="">` : html`<span></span>`
          })}
        </div>
        <div class="summary">
          <span class="title">${title}</span>
          <span>${stageBadge(stage, this.frontName(pickupFrontOf(order.spec)))}</span>
          <span class="muted small">
            ${plural(prints, 'print')}${store ? html` · ${store}` : nothing}${dated}
          </span>
          ${price ? html`<span class="small"><strong>${money(price.total, price.currency)}</strong>${price.estimated ? html` <span class="muted">(estimate)</span>` : nothing}</span>` : nothing}
        </div>
      </a>`
  }

  private frontName(id: string | undefined): string | undefined {
    return this.catalog?.fronts.find((f) => f.id === id)?.name
  }

  private newOrder(): void {
    const id = this.list.newDraft()
    if (id) navigate(`/orders/${id}`)
  }
}

customElements.define('ls-orders', OrdersList)
