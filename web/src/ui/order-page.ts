// The page of one order: follows its document (spec, receipt, progress) through YMapControllers,
// and turns the events of the draft editor or the detail view into document changes.
import { LitElement, html, nothing } from 'lit'
import { roomName, type Catalog, type OrderSpec, type Progress, type Receipt } from '../../../shared/schema.ts'
import { validateSubmission } from '../../../shared/validate.ts'
import { ChangesController } from '../controllers/events.ts'
import { navigate } from '../controllers/route.ts'
import type { Services } from '../controllers/session.ts'
import { UploadQueueController } from '../controllers/upload-queue.ts'
import { YMapController } from '../controllers/y-map.ts'
import { estimate, receptionsOf } from '../orders/estimate.ts'
import { addItems, cancel, heldBy, readInStore, removeItem, setFront, stageOf, submit, updateItem, type InStore, type OrderView } from '../orders/order-doc.ts'
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

  private readonly spec = new YMapController<Partial<OrderSpec>>(this, () => this.doc()?.getMap('spec'))
  private readonly receipt = new YMapController<Receipt>(this, () => this.doc()?.getMap('receipt'))
  private readonly progress = new YMapController<Progress>(this, () => this.doc()?.getMap('progress'))
  private readonly instore = new YMapController<InStore>(this, () => this.doc()?.getMap('instore'))
  private readonly uploads = new UploadQueueController(this, () => this.services?.uploads)
  private readonly changes = new ChangesController(this, () => [this.services?.workspace, this.services?.photos])

  private doc() {
    return this.services?.workspace.orderLink(this.orderId)?.doc
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('orderId')) this.notice = ''
  }

  override render() {
    const link = this.services.workspace.orderLink(this.orderId)
    const spec = this.spec.value
    if (!link || !spec?.id) {
      return html`
        <h1>Order</h1>
        <p class="muted" role="status">${link ? 'Loading this order…' : 'This order is not on this device (yet). If you just signed in, it arrives when the app is online.'}</p>
        <p><a href="/">Back to your orders</a></p>`
    }
    const view: OrderView = {
      id: this.orderId,
      spec: { ...spec, items: Array.isArray(spec.items) ? spec.items : [] },
      receipt: this.receipt.value,
      progress: this.progress.value,
      instore: readInStore(this.instore.value),
    }
    const stage = stageOf(view, heldBy(link))
    const others = this.services.workspace.orders().filter((o) => o.id !== this.orderId)
    const priced = this.catalog && !view.receipt ? estimate(this.catalog, view, receptionsOf(others), this.userId, this.services.workspace.now()) : null
    const refused = this.refusalNotice()
    if (view.spec.state === 'draft') {
      if (!this.catalog) {
        return html`<h1>New order</h1>
          <p class="notice warn">The prices and stores have not reached this device yet. Connect once to load them; after that, ordering works offline.</p>`
      }
      return html`${refused}<ls-compose
        .view=${view} .catalog=${this.catalog} .services=${this.services} .estimate=${priced}
        .problems=${validateSubmission(view.spec, this.catalog, this.userId)} .stage=${stage}
        .online=${this.online} .synced=${link.relayHasAll && link.relayHasAny} .adding=${this.adding} .notice=${this.notice}
        @add-files=${(e: CustomEvent<{ files: File[] }>) => this.addFiles(e.detail.files)}
        @item-change=${(e: CustomEvent<ItemChange>) => updateItem(link.doc, e.detail.index, e.detail.image, e.detail.patch)}
        @item-remove=${(e: CustomEvent<ItemChange>) => removeItem(link.doc, e.detail.index, e.detail.image)}
        @retry-upload=${(e: CustomEvent<{ sha256: string }>) => this.uploads.retry(e.detail.sha256)}
        @front-change=${(e: CustomEvent<{ front: string }>) => setFront(link.doc, e.detail.front)}
        @submit-order=${() => this.submit()}
        @discard=${() => { this.services.workspace.discardDraft(this.orderId); navigate('/') }}
      ></ls-compose>`
    }
    return html`${refused}<ls-order-detail
      .view=${view} .catalog=${this.catalog} .services=${this.services} .estimate=${priced} .stage=${stage}
      .denials=${refused === nothing ? [...link.denials] : []} .storeDenials=${[...link.storeDenials]}
      @retry-upload=${(e: CustomEvent<{ sha256: string }>) => this.uploads.retry(e.detail.sha256)}
      @cancel-order=${() => cancel(link.doc)}
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
        <p>Your last change to this order was not accepted: ${refusal.reason}. The order is shown as the relay has it.</p>
        <button class="link" @click=${() => this.services.workspace.dismissRefusal(room)}>Dismiss</button>
      </div>`
  }

  private async addFiles(files: File[]): Promise<void> {
    const doc = this.doc()
    if (!doc || !this.catalog) return
    this.adding = true
    this.notice = ''
    try {
      const { added, problems } = await this.services.photos.add(files)
      // New prints take the size and frame of the last print: people tend to order alike.
      const items = this.spec.value?.items ?? []
      const last = items[items.length - 1]
      const product = last?.product ?? this.catalog.products[0]?.id
      const template = last?.template ?? this.catalog.templates.find((t) => t.id === 'plain')?.id ?? this.catalog.templates[0]?.id
      addItems(doc, added.map((image) => ({ image, product, qty: 1, template })))
      this.notice = problems.join(' ')
    } finally {
      this.adding = false
    }
  }

  private submit(): void {
    const doc = this.doc()
    if (!doc || !this.catalog) return
    const spec = this.spec.value
    if (!spec || validateSubmission({ ...spec }, this.catalog, this.userId).length > 0) return
    submit(doc)
    scrollTo(0, 0)
  }

  private reorder(): void {
    const id = this.services.workspace.reorder(this.orderId)
    if (id) navigate(`/orders/${id}`)
  }
}

customElements.define('ls-order-page', OrderPage)
