// A store as a customer needs it before going there: address, opening hours and how payment works
// (the catalog's fronts[].address, hours, payment), and where the prints are collected.
import { html, nothing, type TemplateResult } from 'lit'
import type { Front } from '../../../shared/schema.ts'
import { money } from './format.ts'

/** The lines known of one store, as a definition list; nothing for what the catalog does not say. */
export function storeFacts(front: Front, currency: string, withFee = true): TemplateResult {
  return html`
    <dl class="facts">
      ${front.address ? html`<dt>Address</dt><dd>${front.address}</dd>` : nothing}
      ${front.hours ? html`<dt>Opening hours</dt><dd>${front.hours}</dd>` : nothing}
      ${front.payment ? html`<dt>Payment</dt><dd>${front.payment}</dd>` : nothing}
      ${withFee ? html`<dt>Service fee</dt><dd>${front.fee > 0 ? `${money(front.fee, currency)} per order` : 'None'}</dd>` : nothing}
    </dl>`
}

/** The order's store card: where it was ordered, and where to collect it when that is another store. */
export function storeCard(reception: Front, pickup: Front | null, currency: string): TemplateResult {
  return html`
    <section class="card" aria-labelledby="store-heading">
      <h2 id="store-heading">${pickup ? 'Stores' : 'Your store'}</h2>
      <h3>${pickup ? `Ordered at ${reception.name}` : reception.name}</h3>
      ${storeFacts(reception, currency)}
      ${pickup ? html`<h3>Collect at ${pickup.name}</h3>${storeFacts(pickup, currency, false)}` : nothing}
    </section>`
}
