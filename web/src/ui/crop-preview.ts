// One print as it will come out: the photo in the print's exact shape (turned like the photo), with
// the frame, cropped as the item says. Editable in a draft: drag (mouse, touch), pinch, arrow keys
// to move, + and − to zoom, "Fit whole photo" (white bands), "Reset". Emits `crop-change`.
import { LitElement, css, html, nothing } from 'lit'
import { cropRect, fitPlacement, moveCrop, orientPrint, photoArea, toCropBox, WHITE_BORDER_SHARE, zoomCrop, type Crop } from '../../../shared/crop.ts'
import { base } from './styles.ts'

/** How far one arrow key moves the crop, as a share of what is shown. */
const KEY_STEP = 0.05
const ZOOM_STEP = 1.2

export class CropPreview extends LitElement {
  static override properties = {
    thumb: { type: String },
    /** The photo's pixel size, upright. */
    photoWidth: { type: Number },
    photoHeight: { type: Number },
    /** The print's size (mm; either way round). */
    printWidth: { type: Number },
    printHeight: { type: Number },
    template: { type: String },
    crop: { attribute: false },
    name: { type: String },
    editable: { type: Boolean },
    /** The crop while a drag is under way; emitted once the drag ends. */
    moving: { state: true },
  }

  thumb: string | undefined
  photoWidth = 0
  photoHeight = 0
  printWidth = 0
  printHeight = 0
  template: string | undefined
  crop: Crop | undefined
  name = ''
  editable = false
  moving: Crop | undefined = undefined
  private readonly pointers = new Map<number, { x: number; y: number }>()

  static override styles = [base, css`
    :host { display: block; }
    .print {
      position: relative; overflow: hidden; background: #fff; width: 100%;
      box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25); border-radius: 2px; touch-action: none;
    }
    .print.editable { cursor: grab; }
    .area { position: absolute; overflow: hidden; background: #e6eae8; }
    .area.fit { background: #fff; }
    .area img { position: absolute; display: block; max-width: none; user-select: none; -webkit-user-drag: none; pointer-events: none; }
    .area img.thumb { border-radius: 0; object-fit: fill; background: none; }
    .tools { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
    .tools button { min-height: 2.75rem; padding: 0.375rem 0.75rem; }
    .hint { margin: 6px 0 0; }
  `]

  override render() {
    if (!(this.photoWidth > 0 && this.photoHeight > 0 && this.printWidth > 0 && this.printHeight > 0)) return nothing
    const print = orientPrint(this.photoWidth, this.photoHeight, this.printWidth, this.printHeight)
    const area = photoArea(print.width, print.height, this.template)
    const crop = this.moving ?? this.crop
    // The photo's area inside the print, in % of the print (the white border's margin around it).
    const margin = this.template === 'white-border' ? WHITE_BORDER_SHARE * Math.min(print.width, print.height) : 0
    const areaStyle = `left:${(margin / print.width) * 100}%;top:${(margin / print.height) * 100}%;width:${(area.width / print.width) * 100}%;height:${(area.height / print.height) * 100}%`
    const fit = crop === 'fit'
    let imgStyle: string
    if (fit) {
      const w = 10_000
      const h = Math.round((w * area.height) / area.width)
      const place = fitPlacement(this.photoWidth, this.photoHeight, w, h)
      imgStyle = `left:${(place.left / w) * 100}%;top:${(place.top / h) * 100}%;width:${(place.width / w) * 100}%;height:${(place.height / h) * 100}%`
    } else {
      const rect = cropRect(this.photoWidth, this.photoHeight, area.width, area.height, crop)
      imgStyle = `left:${(-rect.left / rect.width) * 100}%;top:${(-rect.top / rect.height) * 100}%;width:${(this.photoWidth / rect.width) * 100}%;height:${(this.photoHeight / rect.height) * 100}%`
    }
    const label = this.editable
      ? `Print of ${this.name}: drag, or use the arrow keys to move the photo; plus and minus zoom`
      : `Print of ${this.name}${fit ? ', whole photo on white' : ''}`
    return html`
      <div class="print ${this.editable && !fit ? 'editable' : ''}" style="aspect-ratio:${print.width} / ${print.height}"
        role=${this.editable ? 'group' : 'img'} aria-label=${label} tabindex=${this.editable ? '0' : nothing}
        @keydown=${this.editable ? this.onKey : nothing}
        @pointerdown=${this.editable ? this.onPointerDown : nothing} @pointermove=${this.editable ? this.onPointerMove : nothing}
        @pointerup=${this.editable ? this.onPointerUp : nothing} @pointercancel=${this.editable ? this.onPointerUp : nothing}>
        <div class="area ${fit ? 'fit' : ''}" style=${areaStyle}>
          ${this.thumb ? html`<img class="thumb" src=${this.thumb} alt="" style=${imgStyle}>` : nothing}
        </div>
      </div>
      ${this.editable ? html`
        <div class="tools" role="group" aria-label=${`Crop of ${this.name}`}>
          <button type="button" ?disabled=${fit} @click=${() => this.zoom(ZOOM_STEP)}>Zoom in<span class="visually-hidden"> on ${this.name}</span></button>
          <button type="button" ?disabled=${fit || !crop} @click=${() => this.zoom(1 / ZOOM_STEP)}>Zoom out<span class="visually-hidden"> of ${this.name}</span></button>
          <button type="button" aria-pressed=${fit ? 'true' : 'false'} @click=${() => this.emitCrop(fit ? undefined : 'fit')}>Fit whole photo<span class="visually-hidden"> ${this.name}</span></button>
          <button type="button" ?disabled=${!crop} @click=${() => this.emitCrop(undefined)}>Reset<span class="visually-hidden"> crop of ${this.name}</span></button>
        </div>
        <p class="muted small hint">${fit ? 'The whole photo prints, with white bands where its shape differs from the paper.' : 'What you see is what prints.'}</p>` : nothing}`
  }

  /** The print's photo area and the crop shown, for turning screen pixels into photo pixels. */
  private geometry() {
    const print = orientPrint(this.photoWidth, this.photoHeight, this.printWidth, this.printHeight)
    const area = photoArea(print.width, print.height, this.template)
    const crop = this.moving ?? this.crop
    return { area, crop: crop === 'fit' ? undefined : crop, rect: cropRect(this.photoWidth, this.photoHeight, area.width, area.height, crop === 'fit' ? undefined : crop) }
  }

  private move(dx: number, dy: number): Crop {
    const { area, crop } = this.geometry()
    return moveCrop(this.photoWidth, this.photoHeight, area.width, area.height, crop, dx, dy)
  }

  private zoom(factor: number): void {
    const { area, crop } = this.geometry()
    this.emitCrop(zoomCrop(this.photoWidth, this.photoHeight, area.width, area.height, crop, factor))
  }

  private readonly onKey = (event: KeyboardEvent): void => {
    if (this.crop === 'fit') return
    const { rect } = this.geometry()
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key]
    if (step) {
      event.preventDefault()
      this.emitCrop(this.move(step[0] * rect.width * KEY_STEP, step[1] * rect.height * KEY_STEP))
    } else if (event.key === '+' || event.key === '=') {
      event.preventDefault()
      this.zoom(ZOOM_STEP)
    } else if (event.key === '-' || event.key === '_') {
      event.preventDefault()
      this.zoom(1 / ZOOM_STEP)
    }
  }

  private readonly onPointerDown = (event: PointerEvent): void => {
    if (this.crop === 'fit') return
    ;(event.currentTarget as HTMLElement).setPointerCapture(event.pointerId)
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY })
  }

  private readonly onPointerMove = (event: PointerEvent): void => {
    const last = this.pointers.get(event.pointerId)
    if (!last) return
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect()
    const { area, rect } = this.geometry()
    if (this.pointers.size >= 2) {
      // Pinch: the change in the two fingers' distance zooms.
      const [a, b] = [...this.pointers.entries()]
      const before = Math.hypot(a[1].x - b[1].x, a[1].y - b[1].y)
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY })
      const [c, d] = [...this.pointers.values()]
      const after = Math.hypot(c.x - d.x, c.y - d.y)
      if (before > 0 && after > 0) this.moving = zoomCrop(this.photoWidth, this.photoHeight, area.width, area.height, this.geometry().crop, after / before)
      return
    }
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY })
    // Dragging the photo right shows more of its left: the crop moves the other way.
    const scale = rect.width / (box.width * (area.width / orientPrint(this.photoWidth, this.photoHeight, this.printWidth, this.printHeight).width))
    this.moving = this.move(-(event.clientX - last.x) * scale, -(event.clientY - last.y) * scale)
  }

  private readonly onPointerUp = (event: PointerEvent): void => {
    this.pointers.delete(event.pointerId)
    if (this.pointers.size === 0 && this.moving !== undefined) {
      const crop = this.moving
      this.moving = undefined
      this.emitCrop(crop)
    }
  }

  private emitCrop(crop: Crop | undefined): void {
    // A crop that is the centred fill is stored as none: the order keeps its default.
    const { area } = this.geometry()
    const fill = toCropBox(cropRect(this.photoWidth, this.photoHeight, area.width, area.height), this.photoWidth, this.photoHeight)
    const same = crop && crop !== 'fit' && Math.abs(crop.x - fill.x) < 1e-4 && Math.abs(crop.y - fill.y) < 1e-4 && Math.abs(crop.w - fill.w) < 1e-4
    this.dispatchEvent(new CustomEvent('crop-change', { detail: { crop: same ? undefined : crop }, bubbles: true, composed: true }))
  }
}

customElements.define('ls-crop-preview', CropPreview)
