// A draft being composed: add photos (picker or drag and drop), choose size, copies, frame and crop
// per print (or for all at once), follow the uploads, pick the store and where to collect, see the
// estimate with the discounts to expect, and send. Only renders; every change goes out as an event
// to the order page.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog } from '../../../shared/schema.ts'
import type { Services } from '../controllers/session.ts'
import type { OrderView } from '../orders/order-doc.ts'
import type { Standing } from '../orders/stage.ts'
import type { UploadSummary } from '../photos/upload-queue.ts'
import { STAGE_HINT, formatDateTime, money, photoNamesOf, plural, priceLines, stageBadge } from './format.ts'
import { storeFacts } from './store-info.ts'
import { base } from './styles.ts'
import './photo-row.ts'

/** "3.1 MB": bytes as people read them. */
function megabytes(bytes: number): string {
  return bytes < 100_000 ? `${Math.max(0, Math.round(bytes / 1000))} kB` : `${(bytes / 1_000_000).toFixed(1)} MB`
}

export class Compose extends LitElement {
  static override properties = {
    view: { attribute: false },
    catalog: { attribute: false },
    services: { attribute: false },
    /** Where the draft stands (controllers/order.ts): its sign, estimate, problems and actions. */
    standing: { attribute: false },
    online: { type: Boolean },
    /** The relay has every change: the draft is on the customer's other devices too. */
    synced: { type: Boolean },
    adding: { type: Boolean },
    notice: { type: String },
    /** How far the draft's photos have uploaded (controllers/order.ts). */
    uploadSummary: { attribute: false },
    dragging: { state: true },
    confirmDiscard: { state: true },
  }

  view!: OrderView
  catalog!: Catalog
  services!: Services
  standing!: Standing
  online = true
  synced = false
  adding = false
  notice = ''
  uploadSummary: UploadSummary = { count: 0, done: 0, sent: 0, total: 0 }
  dragging = false
  confirmDiscard = false

  static override styles = [base, css`
    .drop {
      border: 2px dashed #7a8583; border-radius: 12px; padding: 20px 16px; text-align: center; display: grid; gap: 8px;
      justify-items: center; background: #fbfcfb;
    }
    .drop.dragging { border-color: #0b5c53; background: #e3f4f1; }
    .drop label.button { cursor: pointer; }
    .drop label.button:focus-within { outline: 3px solid #1f6feb; outline-offset: 2px; }
    .items { list-style: none; padding: 0; margin: 16px 0 0; }
    .items li + li { border-top: 1px solid #eceff0; padding-top: 12px; margin-top: 12px; }
    .send { display: grid; gap: 8px; }
    ul.problems { margin: 0; padding-left: 20px; }
    .discount-note { margin-top: 8px; }
    .overall { display: grid; gap: 4px; }
    .overall progress { width: 100%; height: 0.625rem; accent-color: #0b5c53; }
  `]

  override render() {
    const { view, catalog } = this
    const { stage, estimate, problems, actions } = this.standing
    const receiving = catalog.fronts.filter((f) => f.roles.includes('reception'))
    const front = catalog.fronts.find((f) => f.id === view.spec.front)
    // Shown only where it tells the customer something: an empty draft has nothing to fix yet.
    const showProblems = problems.length > 0 && view.spec.items.length > 0
    return html`
      <div class="spread">
        <h1>New order</h1>
        ${stageBadge(stage)}
      </div>
      <p class="muted small">Started ${formatDateTime(view.spec.createdAt)}. ${this.synced ? 'Saved on this device and synced to your account; not sent yet.' : STAGE_HINT[stage]} Changes are saved as you make them.</p>

      <section class="card stack" aria-labelledby="photos-heading">
        <h2 id="photos-heading">Photos</h2>
        <div class="drop ${this.dragging ? 'dragging' : ''}"
          @dragover=${this.onDragOver} @dragleave=${() => { this.dragging = false }} @drop=${this.onDrop}>
          <label class="button primary">
            ${this.adding ? 'Adding photos…' : 'Add photos'}
            <input class="visually-hidden" type="file" accept="image/*,.heic,.heif" multiple @change=${this.onPick} ?disabled=${this.adding}>
          </label>
          <span class="muted small">or drop them here</span>
        </div>
        ${this.notice ? html`<p class="notice warn" role="alert">${this.notice}</p>` : nothing}
        ${this.renderOverall()}
        ${view.spec.items.length === 0 ? html`<p class="muted">No photos yet.</p>` : html`
          <ul class="items" aria-label="Prints">
            ${view.spec.items.map((item, index) => html`
              <li>
                <ls-photo-row
                  .item=${item} .index=${index} .catalog=${catalog} .front=${view.spec.front ?? ''} editable ?many=${view.spec.items.length > 1}
                  .info=${this.services.workspace.photos().get(item.image)}
                  .thumb=${this.services.photos.thumbUrl(item.image)}
                  .upload=${this.services.uploads.state(item.image)}
                ></ls-photo-row>
              </li>`)}
          </ul>`}
      </section>

      <section class="card stack" aria-labelledby="store-heading">
        <h2 id="store-heading">Store</h2>
        <div class="field">
          <label for="front">Where you pick up the prints</label>
          <select id="front" @change=${(e: Event) => this.emit('front-change', { front: (e.target as HTMLSelectElement).value })}>
            <option value="" ?selected=${!front}>Choose a store…</option>
            ${receiving.map((f) => html`
              <option value=${f.id} ?selected=${f.id === front?.id}>${f.name}${f.fee > 0 ? ` (service fee ${money(f.fee, catalog.currency)})` : ''}</option>`)}
          </select>
        </div>
        ${front ? storeFacts(front, catalog.currency) : nothing}
        ${this.renderPickup()}
      </section>

      <section class="card" aria-labelledby="estimate-heading">
        <h2 id="estimate-heading">Estimate</h2>
        ${estimate ? html`
          ${priceLines(estimate.lines, estimate.total, estimate.currency, 'Estimated total', estimate.discount, photoNamesOf(view.spec.items, this.services.workspace.photos()))}
          <p class="muted small discount-note">
            ${estimate.discount
              ? 'The repeat-order discount is included because of your earlier order. '
              : ''}The price is final once the order is received; the receipt then shows it.
          </p>` : html`<p class="muted">Add photos and choose a store to see the price.</p>`}
      </section>

      <div class="send">
        ${showProblems ? html`
          <div class="notice warn" id="problems">
            <strong>Before sending:</strong>
            <ul class="problems">${problems.map((p) => html`<li>${p}</li>`)}</ul>
          </div>` : nothing}
        ${this.online ? nothing : html`<p class="notice info">You are offline. You can still send: the order goes out when the connection returns.</p>`}
        <button class="primary wide" ?disabled=${!actions.send} aria-describedby=${showProblems ? 'problems' : nothing}
          @click=${() => this.emit('submit-order', {})}>Send order</button>
        ${this.confirmDiscard ? html`
          <div class="row" role="group" aria-label="Discard this draft?">
            <button class="danger" @click=${() => this.emit('discard', {})}>Yes, discard the draft</button>
            <button @click=${() => { this.confirmDiscard = false }}>Keep it</button>
          </div>` : html`
          <button class="link danger" @click=${() => { this.confirmDiscard = true }}>Discard draft</button>`}
      </div>
    `
  }

  /** All photos of the draft together: how many are up, and how many bytes of how many. */
  private renderOverall() {
    const { count, done, sent, total } = this.uploadSummary
    if (count === 0 || done === count) return nothing
    return html`
      <div class="overall">
        <progress max=${total || 1} .value=${sent} aria-label="Upload of all photos"></progress>
        <span class="small muted" aria-live="polite">${done} of ${plural(count, 'photo')} uploaded · ${megabytes(sent)} of ${megabytes(total)}</span>
      </div>`
  }

  /**
   * Where to collect the prints, when more than one store hands prints over: the store ordered at
   * (the default) or another one (`spec.pickupFront`).
   */
  private renderPickup() {
    const { catalog, view } = this
    const delivering = catalog.fronts.filter((f) => f.roles.includes('delivery'))
    if (delivering.length < 2 || !view.spec.front) return nothing
    const chosen = typeof view.spec.pickupFront === 'string' ? view.spec.pickupFront : ''
    const pickup = catalog.fronts.find((f) => f.id === chosen)
    const orderedAtDelivers = delivering.some((f) => f.id === view.spec.front)
    return html`
      <div class="field">
        <label for="pickup">Collect the prints at</label>
        <select id="pickup" @change=${(e: Event) => this.emit('pickup-change', { front: (e.target as HTMLSelectElement).value })}>
          ${orderedAtDelivers ? html`<option value="" ?selected=${!pickup}>The same store</option>` : nothing}
          ${delivering.filter((f) => f.id !== view.spec.front).map((f) => html`
            <option value=${f.id} ?selected=${f.id === pickup?.id}>${f.name}</option>`)}
        </select>
      </div>
      ${pickup ? storeFacts(pickup, catalog.currency, false) : nothing}`
  }

  private onPick(event: Event): void {
    const input = event.target as HTMLInputElement
    const files = [...(input.files ?? [])]
    input.value = ''
    if (files.length) this.emit('add-files', { files })
  }

  private onDragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'copy'
    this.dragging = true
  }

  private onDrop(event: DragEvent): void {
    event.preventDefault()
    this.dragging = false
    const files = [...(event.dataTransfer?.files ?? [])].filter((f) => !f.type || f.type.startsWith('image/'))
    if (files.length) this.emit('add-files', { files })
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }
}

customElements.define('ls-compose', Compose)
