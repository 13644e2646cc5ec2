// One print in an order: the photo as it will print (crop-preview.ts), its size, copies and frame
// (editable in a draft, each control named with the photo), advice when the photo has too few
// pixels for the size, and its upload progress with a cancel.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog, Crop, OrderItem, Product } from '../../../shared/schema.ts'
import { unitPriceAt } from '../orders/estimate.ts'
import { MIN_DPI, printDpi } from '../orders/print-quality.ts'
import type { UploadState } from '../photos/upload-queue.ts'
import type { PhotoInfo } from '../sync/workspace.ts'
import { money } from './format.ts'
import { base } from './styles.ts'
import './crop-preview.ts'

export interface ItemChange { index: number; image: string; patch: Partial<Omit<OrderItem, 'image'>> }

/** The copies a customer may ask for per print; the relay allows more, a person rarely means it. */
export const MAX_QTY = 99

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
    /** The draft has other prints: offer to use this one's choices for all. */
    many: { type: Boolean },
    qtyError: { state: true },
    cropping: { state: true },
  }

  item!: OrderItem
  index = 0
  catalog!: Catalog
  front = ''
  info: PhotoInfo | undefined
  thumb: string | undefined
  upload: UploadState | undefined
  editable = false
  many = false
  qtyError = ''
  cropping = false

  static override styles = [base, css`
    :host { display: block; }
    .head { display: flex; gap: 12px; align-items: flex-start; }
    .preview { width: 5.5rem; flex: none; }
    .body { flex: 1; min-width: 0; display: grid; gap: 6px; }
    .name { font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .editor { display: grid; gap: 10px; margin-top: 10px; }
    .cropper { max-width: 20rem; }
    .choices { display: grid; grid-template-columns: auto 1fr; gap: 8px 10px; }
    .choices .size { grid-column: 1 / -1; }
    .qty { display: grid; grid-template-columns: 2.75rem 4rem 2.75rem; gap: 4px; }
    .qty button { padding: 0; font-size: 1.3rem; }
    .qty input { text-align: center; padding: 0.5rem 0.125rem; }
    .qty input[aria-invalid='true'] { border-color: #9b1c1c; border-width: 2px; }
    .field-error { color: #7f1414; font-size: 0.875rem; margin: 2px 0 0; grid-column: 1 / -1; }
    progress { width: 100%; height: 0.5rem; accent-color: #0b5c53; }
    .upload { font-size: 0.85rem; display: grid; gap: 2px; justify-items: start; }
    .notice { margin: 0; font-size: 0.875rem; }
    .actions { display: flex; flex-wrap: wrap; gap: 4px 12px; }
  `]

  private get name(): string {
    return this.info?.name ?? `Photo ${this.index + 1}`
  }

  override render() {
    const product = this.catalog.products.find((p) => p.id === this.item.product)
    const template = this.catalog.templates.find((t) => t.id === this.item.template)
    const name = this.name
    return html`
      <div class="head">
        <div class="preview">${this.renderPreview(product, false)}</div>
        <div class="body">
          <div class="name" title=${name}>${name}</div>
          ${this.editable ? nothing : html`
            <div>${product?.name ?? this.item.product} × ${this.item.qty}${template ? html` · ${template.name}` : nothing}${this.item.crop === 'fit' ? ' · whole photo' : this.item.crop ? ' · cropped' : ''}</div>`}
          ${this.renderUpload(name)}
          ${this.editable ? html`
            <div class="actions">
              <button class="link" aria-expanded=${this.cropping ? 'true' : 'false'} @click=${() => { this.cropping = !this.cropping }}>
                ${this.cropping ? 'Done cropping' : 'Crop'}<span class="visually-hidden"> ${name}</span>
              </button>
              <button class="link danger" @click=${() => this.emit('item-remove', { index: this.index, image: this.item.image })}>
                Remove<span class="visually-hidden"> ${name}</span>
              </button>
            </div>` : this.lowResolution(product)}
        </div>
      </div>
      ${this.editable ? html`
        <div class="editor">
          ${this.cropping ? html`<div class="cropper">${this.renderPreview(product, true)}</div>` : nothing}
          ${this.renderChoices()}${this.lowResolution(product)}
        </div>` : nothing}`
  }

  private renderPreview(product: Product | undefined, editable: boolean) {
    if (!product || !this.info?.width) {
      return this.thumb ? html`<img class="thumb" src=${this.thumb} alt=${`Photo: ${this.name}`}>` : html`<div class="thumb-placeholder" role="img" aria-label=${`Photo: ${this.name}`}></div>`
    }
    return html`<ls-crop-preview
      .thumb=${this.thumb} .photoWidth=${this.info.width} .photoHeight=${this.info.height}
      .printWidth=${product.widthMm} .printHeight=${product.heightMm} .template=${this.item.template}
      .crop=${this.item.crop} .name=${this.name} ?editable=${editable}
      @crop-change=${(e: CustomEvent<{ crop: Crop | undefined }>) => this.change({ crop: e.detail.crop })}
    ></ls-crop-preview>`
  }

  /**
   * Advice when the photo has too few pixels for the size: a smaller size only when one would
   * print it sharp, else that it prints, softly, at any size.
   */
  private lowResolution(product: Product | undefined) {
    const info = this.info
    const dpi = product && info?.width ? printDpi(info, product) : null
    if (dpi === null || dpi >= MIN_DPI) return nothing
    const others = this.catalog.products.filter((p) => p.id !== product!.id)
    // The largest size that prints it sharp; else the one that comes closest.
    const sharp = others.filter((p) => printDpi(info!, p) >= MIN_DPI).sort((a, b) => b.widthMm * b.heightMm - a.widthMm * a.heightMm)[0]
    const closer = others.filter((p) => printDpi(info!, p) > dpi).sort((a, b) => printDpi(info!, b) - printDpi(info!, a))[0]
    const advice = !this.editable ? ''
      : sharp ? `${MIN_DPI} dpi or more is best: ${sharp.name} would print it sharp.`
      : closer ? `No size in the list prints it sharp; ${closer.name} comes closest (about ${printDpi(info!, closer)} dpi).`
      : 'No size in the list prints it sharper; it will print, a little soft. A photo with more pixels would look better.'
    return html`
      <p class="notice warn" role="note">
        Low resolution for ${product!.name}: about ${dpi} dpi (${info!.width}×${info!.height} pixels), so the print may look blurry.
        ${advice}
      </p>`
  }

  private renderChoices() {
    const { products, templates } = this.catalog
    const name = this.name
    const forPhoto = html`<span class="visually-hidden"> for ${name}</span>`
    return html`
      <div class="choices">
        <div class="field size">
          <label for="size">Size${forPhoto}</label>
          <select id="size" @change=${(e: Event) => this.change({ product: (e.target as HTMLSelectElement).value })}>
            ${products.map((p) => html`
              <option value=${p.id} ?selected=${p.id === this.item.product}>${p.name} · ${money(unitPriceAt(this.catalog, p, this.front), this.catalog.currency)}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="qty">Copies${forPhoto}</label>
          <div class="qty">
            <button type="button" aria-label=${`One copy fewer of ${name}`} ?disabled=${this.item.qty <= 1}
              @click=${() => this.setQty(Math.max(1, this.item.qty - 1))}>−</button>
            <input id="qty" type="text" inputmode="numeric" .value=${String(this.item.qty)}
              aria-invalid=${this.qtyError ? 'true' : 'false'} aria-describedby=${this.qtyError ? 'qty-error' : nothing}
              @change=${this.onQty}>
            <button type="button" aria-label=${`One copy more of ${name}`} ?disabled=${this.item.qty >= MAX_QTY}
              @click=${() => this.setQty(Math.min(MAX_QTY, this.item.qty + 1))}>+</button>
          </div>
        </div>
        ${templates.length === 0 ? nothing : html`<div class="field">
          <label for="frame">Frame${forPhoto}</label>
          <select id="frame" @change=${(e: Event) => this.change({ template: (e.target as HTMLSelectElement).value || undefined })}>
            ${templates.map((t) => html`<option value=${t.id} ?selected=${t.id === this.item.template}>${t.name}</option>`)}
          </select>
        </div>`}
        ${this.qtyError ? html`<p class="field-error" id="qty-error" role="alert">${this.qtyError}</p>` : nothing}
      </div>
      ${this.many ? html`<button type="button" class="link" @click=${this.applyToAll}>
        Use these choices for all photos<span class="visually-hidden"> (as for ${name})</span></button>` : nothing}`
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
          <button class="link" @click=${() => this.emit('retry-upload', { sha256: upload.sha256 })}>Try again now<span class="visually-hidden"> for ${name}</span></button>` : nothing}
        ${this.editable && upload.status !== 'done' ? html`
          <button class="link danger" @click=${() => this.emit('item-remove', { index: this.index, image: this.item.image })}>
            Cancel upload<span class="visually-hidden"> of ${name} and remove it</span></button>` : nothing}
      </div>`
  }

  private onQty(event: Event): void {
    const input = event.target as HTMLInputElement
    const text = input.value.trim()
    const qty = Number(text)
    if (/^\d+$/.test(text) && qty >= 1 && qty <= MAX_QTY) return this.setQty(qty)
    // Keep what was typed, so the customer sees what is wrong with it.
    this.qtyError = `Copies must be a whole number from 1 to ${MAX_QTY}; "${text}" is not. The order keeps ${this.item.qty}.`
  }

  private setQty(qty: number): void {
    this.qtyError = ''
    const input = this.renderRoot.querySelector<HTMLInputElement>('#qty')
    if (input) input.value = String(qty)
    this.change({ qty })
  }

  private readonly applyToAll = (): void => {
    const { product, qty, template } = this.item
    this.emit('apply-all', { product, qty, template })
  }

  private change(patch: ItemChange['patch']): void {
    this.emit('item-change', { index: this.index, image: this.item.image, patch } satisfies ItemChange)
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }
}

customElements.define('ls-photo-row', PhotoRow)
