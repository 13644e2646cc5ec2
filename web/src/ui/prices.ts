// The catalog (from the `catalog` document, or before signing up from the public price list):
// print sizes with their prices at each store, the stores with address, hours and payment, the
// frames, and the repeat-order discounts said plainly.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog } from '../../../shared/schema.ts'
import { describeDiscounts, unitPriceAt } from '../orders/estimate.ts'
import { money } from './format.ts'
import { storeFacts } from './store-info.ts'
import { base } from './styles.ts'

export class Prices extends LitElement {
  static override properties = { catalog: { attribute: false } }

  catalog: Catalog | null = null

  static override styles = [base, css`
    table { width: 100%; border-collapse: collapse; }
    th, td { text-align: left; padding: 8px 4px; border-bottom: 1px solid #eceff0; vertical-align: top; }
    th { font-size: 0.85rem; color: #4a5553; }
    td.amount, th.amount { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
    ul { margin: 0; padding-left: 20px; }
    .discounts li { font-weight: 600; }
  `]

  override render() {
    const catalog = this.catalog
    if (!catalog) {
      return html`<h1>Prices & stores</h1>
        <p class="notice warn">The prices and stores have not reached this device yet. They load the first time the app is online.</p>`
    }
    const stores = catalog.fronts.filter((f) => f.roles.includes('reception'))
    const discounts = describeDiscounts(catalog.discounts, catalog.currency)
    return html`
      <h1>Prices & stores</h1>
      ${discounts.length ? html`
        <section class="card" aria-labelledby="discounts-heading">
          <h2 id="discounts-heading">Repeat-order discounts</h2>
          <ul class="discounts">${discounts.map((line) => html`<li>${line}</li>`)}</ul>
          <p class="muted small">Counted from when your previous order was received; the shortest period that applies wins.</p>
        </section>` : nothing}
      ${stores.map((front) => html`
        <section class="card" aria-labelledby="store-${front.id}">
          <h2 id="store-${front.id}">${front.name}</h2>
          <p class="muted small">
            ${front.fee > 0 ? `Service fee ${money(front.fee, catalog.currency)} per order.` : 'No service fee.'}
            ${front.roles.includes('delivery') ? ' Pick up your prints here.' : ''}
          </p>
          ${storeFacts(front, catalog.currency, false)}
          <table>
            <caption class="visually-hidden">Print prices at ${front.name}</caption>
            <thead><tr><th scope="col">Print size</th><th scope="col" class="amount">Each</th></tr></thead>
            <tbody>
              ${catalog.products.map((product) => html`
                <tr>
                  <td>${product.name}${product.name.includes(String(product.widthMm)) ? nothing : html`<br><span class="muted small">${product.widthMm} × ${product.heightMm} mm</span>`}</td>
                  <td class="amount">${money(unitPriceAt(catalog, product, front.id), catalog.currency)}</td>
                </tr>`)}
            </tbody>
          </table>
        </section>`)}
      ${catalog.templates.length ? html`<section class="card" aria-labelledby="frames-heading">
        <h2 id="frames-heading">Frames</h2>
        <ul>${catalog.templates.map((t) => html`<li>${t.name}</li>`)}</ul>
        <p class="muted small">Frames are free.</p>
      </section>` : nothing}
    `
  }
}

customElements.define('ls-prices', Prices)
