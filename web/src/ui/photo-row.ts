// One print in an order: the photo's thumbnail, its size, copies and frame (editable in a draft),
// a warning when the photo has too few pixels for the size, and its upload progress.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog, OrderItem } from '../../../shared/schema.ts'
import { unitPriceAt } from '../orders/estimate.ts'
import { MIN_DPI, printDpi } from '../orders/print-quality.ts'
import type { UploadState } from '../photos/upload-queue.ts'
import type { PhotoInfo } from '../sync/workspace.ts'
import { money } from './format.ts'
import { base } from './styles.ts'

export interface ItemChange { index: number; image: string; patch: Partial<Omit<OrderItem, 'image'>> }

const MAX_QTY = 999

export class PhotoRow extends LitElement {
  static override properties = {
    item: { attribute: false },
    index: { type: Number },
    catalog: { attribute: false },
    front: { type: String },
    info: { attribute: false },
    thumb: { type: String },
    upload: { attribute: false },
    editable: { type: Boolean },
  }

  item!: OrderItem
  index = 0
  catalog!: Catalog
  front = ''
  info: PhotoInfo | undefined
  thumb: string | undefined
  upload: UploadState | undefined
  editable = false

  static override styles = [base, css`
    :host { display: block; }
    .head { display: flex; gap: 12px; align-items: flex-start; }
    .body { flex: 1; min-width: 0; display: grid; gap: 6px; }
    .name { font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .editor { display: grid; gap: 10px; margin-top: 10px; }
    .choices { display: grid; grid-template-columns: auto 1fr; gap: 8px 10px; }
    .choices .size { grid-column: 1 / -1; }
    .qty { display: grid; grid-template-columns: 44px 64px 44px; gap: 4px; }
    .qty button { padding: 0; font-size: 1.3rem; }
    .qty input { text-align: center; padding: 8px 2px; }
    progress { width: 100%; height: 8px; accent-color: #0b5c53; }
    .upload { font-size: 0.85rem; display: grid; gap: 2px; }
    .notice { margin: 0; font-size: 0.875rem; }
    .remove { justify-self: start; }
  `]

  override render() {
    const product = this.catalog.products.find((p) => p.id === this.item.product)
    const template = this.catalog.templates.find((t) => t.id === this.item.template)
    const dpi = product && this.info ? printDpi(this.info, product) : null
    const name = this.info?.name ?? `Photo ${this.index + 1}`
    const lowResolution = dpi !== null && dpi < MIN_DPI ? html`
      <p class="notice warn" role="note">
        Low resolution for ${product!.name}: about ${dpi} dpi (${this.info!.width}×${this.info!.height} pixels), so the print may look blurry.
        ${this.editable ? `${MIN_DPI} dpi or more is best; a smaller size helps.` : ''}
      </p>` : nothing
    return html`
      <div class="head">
        ${this.thumb ? html`<img class="thumb" src=${this.thumb} alt=${`Photo: ${name}`}>` : html`<div class="thumb-placeholder" role="img" aria-label=${`Photo: ${name}`}></div>`}
        <div class="body">
          <div class="name" title=${name}>${name}</div>
          ${this.editable ? nothing : html`
            <div>${product?.name ?? this.item.product} × ${this.item.qty}${template ? html` · ${template.name}` : nothing}</div>`}
          ${this.renderUpload(name)}
          ${this.editable ? html`
            <button class="link danger remove" @click=${() => this.emit('item-remove', { index: this.index, image: this.item.image })}>
              Remove<span class="visually-hidden"> ${name}</span>
            </button>` : lowResolution}
        </div>
      </div>
      ${this.editable ? html`<div class="editor">${this.renderChoices()}${lowResolution}</div>` : nothing}`
  }

  private renderChoices() {
    const { products, templates } = this.catalog
    return html`
      <div class="choices">
        <div class="field size">
          <label for="size">Size</label>
          <select id="size" @change=${(e: Event) => this.change({ product: (e.target as HTMLSelectElement).value })}>
            ${products.map((p) => html`
              <option value=${p.id} ?selected=${p.id === this.item.product}>${p.name} · ${money(unitPriceAt(this.catalog, p, this.front), this.catalog.currency)}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="qty">Copies</label>
          <div class="qty">
            <button type="button" aria-label="One copy fewer" ?disabled=${this.item.qty <= 1}
              @click=${() => this.change({ qty: Math.max(1, this.item.qty - 1) })}>−</button>
            <input id="qty" type="number" inputmode="numeric" min="1" max=${MAX_QTY} .value=${String(this.item.qty)}
              @change=${this.onQty}>
            <button type="button" aria-label="One copy more" ?disabled=${this.item.qty >= MAX_QTY}
              @click=${() => this.change({ qty: Math.min(MAX_QTY, this.item.qty + 1) })}>+</button>
          </div>
        </div>
        ${templates.length === 0 ? nothing : html`<div class="field">
          <label for="frame">Frame</label>
          <select id="frame" @change=${(e: Event) => this.change({ template: (e.target as HTMLSelectElement).value || undefined })}>
            ${templates.map((t) => html`<option value=${t.id} ?selected=${t.id === this.item.template}>${t.name}</option>`)}
          </select>
        </div>`}
      </div>`
  }

  private renderUpload(name: string) {
    const upload = this.upload
    if (!upload) return this.info?.uploaded ? html`<span class="upload muted">Uploaded</span>` : nothing
    const percent = upload.total > 0 ? Math.round((upload.sent / upload.total) * 100) : 0
    const text: Record<UploadState['status'], string> = {
      waiting: 'Waiting to upload',
      uploading: `Uploading… ${percent}%`,
      offline: `Upload paused until you are online${percent > 0 ? ` (${percent}% sent)` : ''}`,
      // A server that is full or busy asked to be tried later: say so, it is not the customer's doing.
      retrying: upload.later && upload.error ? upload.error : `Upload interrupted; retrying soon (${percent}% sent)`,
      done: upload.via === 'store' ? 'Uploaded to your store' : 'Uploaded',
      failed: upload.error ?? 'Upload failed',
    }
    return html`
      <div class="upload" data-upload=${upload.status}>
        ${upload.status === 'done' ? nothing : html`
          <progress max="100" .value=${percent} aria-label=${`Upload of ${name}`}></progress>`}
        <span class=${upload.status === 'failed' ? 'notice error' : 'muted'}>${text[upload.status]}</span>
        ${upload.status === 'failed' || upload.status === 'retrying' ? html`
          <button class="link" @click=${() => this.emit('retry-upload', { sha256: upload.sha256 })}>Try again now</button>` : nothing}
      </div>`
  }

  private onQty(event: Event): void {
    const input = event.target as HTMLInputElement
    const qty = Number(input.value)
    if (Number.isInteger(qty) && qty >= 1 && qty <= MAX_QTY) this.change({ qty })
    else input.value = String(this.item.qty)
  }

  private change(patch: ItemChange['patch']): void {
    this.emit('item-change', { index: this.index, image: this.item.image, patch } satisfies ItemChange)
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }
}

customElements.define('ls-photo-row', PhotoRow)
