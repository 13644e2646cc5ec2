// The filter form above the listing and charts: lab, store, customer, status, an order number or
// a customer's e-mail to find one order, and a range of days (both included). Emits `filters` with the new Filters when applied or cleared.
import { LitElement, css, html } from 'lit'
import type { LabStatus } from '../../shared/audit.ts'
import { NO_FILTERS, type Filters, type View } from './audit-controller.ts'

const STATUSES: Record<View, string[]> = {
  receipts: ['accepted', 'rejected', 'cancelled', 'waiting'],
  history: ['completed', 'aborted', 'canceled'],
}

export class FilterForm extends LitElement {
  static override properties = {
    filters: { attribute: false },
    labs: { attribute: false },
    view: { type: String },
  }

  filters: Filters = NO_FILTERS
  labs: LabStatus[] = []
  view: View = 'receipts'

  static override styles = css`
    :host { display: block; }
    form { display: flex; flex-wrap: wrap; gap: 0.625rem; align-items: end; }
    .field { display: grid; gap: 0.125rem; }
    label { font-size: 0.8rem; font-weight: 700; color: #33403e; }
    input, select { font: inherit; font-weight: 400; padding: 0.25rem 0.5rem; height: 2.25rem; box-sizing: border-box; border: 1px solid #7a8583; border-radius: 0.375rem; background: #fff; min-width: 9rem; }
    button { font: inherit; font-weight: 600; min-height: 2.25rem; padding: 0.375rem 0.875rem; border-radius: 0.375rem; border: 1px solid #0b5c53; background: #fff; color: #0b5c53; cursor: pointer; }
    button.primary { background: #0b5c53; color: #fff; }
    :focus-visible { outline: 3px solid #1f6feb; outline-offset: 1px; }
  `

  override render() {
    const f = this.filters
    return html`
      <form @submit=${this.onSubmit} aria-label="Filters">
        <div class="field"><label for="lab">Lab</label>
          <select id="lab" name="lab">
            <option value="">All labs</option>
            ${this.labs.map((lab) => html`<option value=${lab.id} ?selected=${f.lab === lab.id}>${lab.name}</option>`)}
          </select>
        </div>
        <div class="field"><label for="front">Store</label><input id="front" name="front" .value=${f.front} placeholder="store id" autocomplete="off"></div>
        <div class="field"><label for="user">Customer</label><input id="user" name="user" .value=${f.user} placeholder="user id" autocomplete="off"></div>
        <div class="field"><label for="number">Order number</label><input id="number" name="number" .value=${f.number} placeholder="K7M2" autocomplete="off" autocapitalize="characters" spellcheck="false"></div>
        <div class="field"><label for="email">Customer e-mail</label><input id="email" name="email" type="email" .value=${f.email} placeholder="name@example.com" autocomplete="off"></div>
        <div class="field"><label for="status">Status</label>
          <select id="status" name="status">
            <option value="">Any</option>
            ${STATUSES[this.view].map((status) => html`<option value=${status} ?selected=${f.status === status}>${status}</option>`)}
          </select>
        </div>
        <div class="field"><label for="since">From</label><input id="since" name="since" type="date" .value=${f.since}></div>
        <div class="field"><label for="until">To</label><input id="until" name="until" type="date" .value=${f.until}></div>
        <button class="primary" type="submit">Apply</button>
        <button type="button" @click=${this.onClear}>Clear</button>
      </form>`
  }

  private onSubmit(event: SubmitEvent): void {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const value = (name: keyof Filters) => String(form.get(name) ?? '').trim()
    this.emit({ lab: value('lab'), front: value('front'), user: value('user'), status: value('status'),
      number: value('number'), email: value('email'), since: value('since'), until: value('until') })
  }

  private onClear(): void {
    this.renderRoot.querySelector('form')?.reset()
    this.emit(NO_FILTERS)
  }

  private emit(filters: Filters): void {
    this.dispatchEvent(new CustomEvent<Filters>('filters', { detail: filters, bubbles: true, composed: true }))
  }
}

customElements.define('ls-admin-filters', FilterForm)
