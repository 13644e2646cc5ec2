// A draft being composed: add photos (picker or drag and drop), choose size, copies and frame per
// print, pick the store, see the estimate with the repeat discount to expect, and send. Only
// renders; every change goes out as an event to the order page.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog } from '../../../shared/schema.ts'
import type { Services } from '../controllers/session.ts'
import type { OrderView } from '../orders/order-doc.ts'
import type { Standing } from '../orders/stage.ts'
import { STAGE_HINT, formatDateTime, money, priceLines, stageBadge } from './format.ts'
import { base } from './styles.ts'
import './photo-row.ts'

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
  `]

  override render() {
    const { view, catalog } = this
    const { stage, estimate, problems, actions } = this.standing
    const receiving = catalog.fronts.filter((f) => f.roles.includes('reception'))
    const front = catalog.fronts.find((f) => f.id === view.spec.front)
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
            <input class="visually-hidden" type="file" accept="image/*" multiple @change=${this.onPick} ?disabled=${this.adding}>
          </label>
          <span class="muted small">or drop them here</span>
        </div>
        ${this.notice ? html`<p class="notice warn" role="alert">${this.notice}</p>` : nothing}
        ${view.spec.items.length === 0 ? html`<p class="muted">No photos yet.</p>` : html`
          <ul class="items" aria-label="Prints">
            ${view.spec.items.map((item, index) => html`
              <li>
                <ls-photo-row
                  .item=${item} .index=${index} .catalog=${catalog} .front=${view.spec.front ?? ''} editable
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
      </section>

      <section class="card" aria-labelledby="estimate-heading">
        <h2 id="estimate-heading">Estimate</h2>
        ${estimate ? html`
          ${priceLines(estimate.lines, estimate.total, estimate.currency, 'Estimated total', estimate.discount)}
          <p class="muted small discount-note">
            ${estimate.discount
              ? 'The repeat-order discount is included because of your earlier order. '
              : ''}The price is final once the order is received; the receipt then shows it.
          </p>` : html`<p class="muted">Add photos and choose a store to see the price.</p>`}
      </section>

      <div class="send">
        ${problems.length > 0 && view.spec.items.length > 0 ? html`
          <div class="notice warn" id="problems">
            <strong>Before sending:</strong>
            <ul class="problems">${problems.map((p) => html`<li>${p}</li>`)}</ul>
          </div>` : nothing}
        ${this.online ? nothing : html`<p class="notice info">You are offline. You can still send: the order goes out when the connection returns.</p>`}
        <button class="primary wide" ?disabled=${!actions.send} aria-describedby=${problems.length ? 'problems' : nothing}
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
