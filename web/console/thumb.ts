// One photo's thumbnail: fetched with the operator token (an <img> alone cannot send it) and
// shown from a blob URL, released when the element goes or shows another photo.
import { LitElement, css, html, nothing } from 'lit'
import type { ConsoleApi } from './api.ts'

export class ConsoleThumb extends LitElement {
  static override properties = { src: {}, api: { attribute: false }, alt: {}, url: { state: true }, failed: { state: true } }
  declare src: string
  declare api: ConsoleApi | null
  declare alt: string
  declare url: string | null
  declare failed: boolean
  private loaded = ''
  private abort: AbortController | null = null

  static override styles = css`
    :host { display: inline-block; width: 64px; height: 64px; border-radius: 6px; overflow: hidden; background: #e4e8e6; flex: none; }
    img { width: 100%; height: 100%; object-fit: cover; display: block; }
    span { display: grid; place-items: center; height: 100%; font-size: 0.7rem; color: #4a5553; text-align: center; }
  `

  constructor() {
    super()
    this.src = ''
    this.api = null
    this.alt = ''
    this.url = null
    this.failed = false
  }

  override updated(): void {
    if (!this.api || !this.src || this.src === this.loaded) return
    this.loaded = this.src
    this.abort?.abort()
    const abort = (this.abort = new AbortController())
    this.api.photo(this.src, abort.signal).then((blob) => {
      if (abort.signal.aborted) return
      this.release()
      this.url = URL.createObjectURL(blob)
      this.failed = false
    }, () => { if (!abort.signal.aborted) this.failed = true })
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.abort?.abort()
    this.release()
    this.loaded = ''
  }

  override render() {
    if (this.url) return html`<img src=${this.url} alt=${this.alt}>`
    return html`<span role="img" aria-label=${this.alt}>${this.failed ? 'no photo' : nothing}</span>`
  }

  private release(): void {
    if (this.url) URL.revokeObjectURL(this.url)
    this.url = null
  }
}

customElements.define('ls-console-thumb', ConsoleThumb)
