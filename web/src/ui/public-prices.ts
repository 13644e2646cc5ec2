// The prices page for someone not signed in: the public price list, fetched when shown.
import { LitElement, html, nothing } from 'lit'
import type { Catalog } from '../../../shared/schema.ts'
import { fetchPriceList, PriceListError } from '../session/public-prices.ts'
import { base } from './styles.ts'
import './prices.ts'

export class PublicPrices extends LitElement {
  static override properties = { origin: { type: String }, catalog: { state: true }, error: { state: true } }

  origin = ''
  catalog: Catalog | null = null
  error = ''
  private loading: AbortController | null = null

  static override styles = [base]

  override connectedCallback(): void {
    super.connectedCallback()
    this.loading = new AbortController()
    fetchPriceList(this.origin, this.loading.signal).then(
      (catalog) => { this.catalog = catalog },
      (error: unknown) => { if (error instanceof PriceListError) this.error = error.message },
    )
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.loading?.abort()
  }

  override render() {
    if (this.catalog) return html`<ls-prices .catalog=${this.catalog}></ls-prices><p><a href="/">Create an account or sign in</a> to order.</p>`
    return html`
      <h1>Prices & stores</h1>
      ${this.error ? html`<p class="notice warn" role="alert">${this.error}</p>` : html`<p class="muted" role="status">Loading the price list…</p>`}
      ${this.error ? html`<p><a href="/">Back to sign in</a></p>` : nothing}`
  }
}

customElements.define('ls-public-prices', PublicPrices)
