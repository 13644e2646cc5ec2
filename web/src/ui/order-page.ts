// The page of one order: renders the draft editor or the detail view from what OrderController
// says of the order, and hands their events to it.
import { LitElement, html, nothing } from 'lit'
import { roomName, type Catalog } from '../../../shared/schema.ts'
import { OrderController } from '../controllers/order.ts'
import { navigate } from '../controllers/route.ts'
import type { Services } from '../controllers/session.ts'
import type { ItemChange } from './photo-row.ts'
import { base } from './styles.ts'
import './compose.ts'
import './order-detail.ts'

export class OrderPage extends LitElement {
  static override properties = {
    services: { attribute: false },
    orderId: { type: String },
    userId: { type: String },
    catalog: { attribute: false },
    online: { type: Boolean },
    adding: { state: true },
    notice: { state: true },
  }

  services!: Services
  orderId = ''
  userId = ''
  catalog: Catalog | null = null
  online = true
  adding = false
  notice = ''

  static override styles = [base]

  private readonly order = new OrderController(this, () => ({ services: this.services, orderId: this.orderId, catalog: this.catalog, userId: this.userId }))

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('orderId')) this.notice = ''
  }

  override render() {
    const { link, view, standing } = this.order
    if (!link || !view || !standing) {
      return html`
        <h1>Order</h1>
        <p class="muted" role="status">${link ? 'Loading this order…' : 'This order is not on this device (yet). If you just signed in, it arrives when the app is online.'}</p>
        <p><a href="/">Back to your orders</a></p>`
    }
    const refused = this.refusalNotice()
    if (view.spec.state === 'draft') {
      if (!this.catalog) {
        return html`<h1>New order</h1>
          <p class="notice warn">The prices and stores have not reached this device yet. Connect once to load them; after that, ordering works offline.</p>`
      }
      return html`${refused}<ls-compose
        .view=${view} .catalog=${this.catalog} .services=${this.services} .standing=${standing}
        .online=${this.online} .synced=${this.order.synced} .adding=${this.adding} .notice=${this.notice} .uploadSummary=${this.order.uploadSummary}
        @add-files=${(e: CustomEvent<{ files: File[] }>) => this.addFiles(e.detail.files)}
        @item-change=${(e: CustomEvent<ItemChange>) => this.order.updateItem(e.detail.index, e.detail.image, e.detail.patch)}
        @item-remove=${(e: CustomEvent<ItemChange>) => this.order.removeItem(e.detail.index, e.detail.image)}
        @retry-upload=${(e: CustomEvent<{ sha256: string }>) => this.order.retryUpload(e.detail.sha256)}
        @front-change=${(e: CustomEvent<{ front: string }>) => this.order.setFront(e.detail.front)}
        @pickup-change=${(e: CustomEvent<{ front: string }>) => this.order.setPickupFront(e.detail.front)}
        @apply-all=${(e: CustomEvent<{ product: string; qty: number; template?: string }>) => this.order.applyToAll(e.detail)}
        @submit-order=${() => { if (this.order.send()) scrollTo(0, 0) }}
        @discard=${() => { this.order.discard(); navigate('/') }}
      ></ls-compose>`
    }
    return html`${refused}<ls-order-detail
      .view=${view} .catalog=${this.catalog} .services=${this.services} .standing=${standing} .pendingUploads=${this.order.pendingUploads}
      .denials=${refused === nothing ? [...link.denials] : []} .storeDenials=${[...link.storeDenials]}
      @retry-upload=${(e: CustomEvent<{ sha256: string }>) => this.order.retryUpload(e.detail.sha256)}
      @cancel-order=${() => this.order.cancel()}
      @reorder=${() => this.reorder()}
    ></ls-order-detail>`
  }

  /**
   * A write of this device the relay refused: the workspace has already put the order back as the
   * relay has it (sync/workspace.ts refusedOrder); the customer learns what did not go through.
   */
  private refusalNotice() {
    const room = roomName.order(this.orderId)
    const refusal = this.services.workspace.refusal(room)
    if (!refusal) return nothing
    return html`
      <div class="notice error refusal" role="alert">
        <p>Your last change to this order was not accepted: ${refusal.reason}. The order is shown as the print service has it.</p>
        <button class="link" @click=${() => this.services.workspace.dismissRefusal(room)}>Dismiss</button>
      </div>`
  }

  private async addFiles(files: File[]): Promise<void> {
    if (!this.order.link || !this.catalog) return
    this.adding = true
    this.notice = ''
    try {
      this.notice = (await this.order.addPhotos(files)).join(' ')
    } finally {
      this.adding = false
    }
  }

  private reorder(): void {
    const id = this.order.reorder()
    if (id) navigate(`/orders/${id}`)
  }
}

customElements.define('ls-order-page', OrderPage)
