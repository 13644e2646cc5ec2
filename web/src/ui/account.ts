// Who is signed in on this device, their home store (whose lab node the phone talks to over the
// shop's LAN), signing in again when the session ended, and signing out, which removes the orders
// and photos kept on this device.
import { LitElement, html, nothing } from 'lit'
import type { Services } from '../controllers/session.ts'
import { UploadQueueController } from '../controllers/upload-queue.ts'
import { ChangesController } from '../controllers/events.ts'
import { OrderListController } from '../controllers/order.ts'
import type { Catalog } from '../../../shared/schema.ts'
import type { Session } from '../session/api.ts'
import { plural } from './format.ts'
import { base } from './styles.ts'
import './sign-in.ts'

export class Account extends LitElement {
  static override properties = {
    session: { attribute: false },
    services: { attribute: false },
    catalog: { attribute: false },
    busy: { type: Boolean },
    expired: { type: Boolean },
    error: { type: String },
    online: { type: Boolean },
    confirm: { state: true },
  }

  session!: Session
  services!: Services
  catalog: Catalog | null = null
  busy = false
  expired = false
  error = ''
  online = true
  confirm = false

  static override styles = [base]

  private readonly uploads = new UploadQueueController(this, () => this.services?.uploads)
  private readonly changes = new ChangesController(this, () => [this.services?.workspace])
  private readonly orders = new OrderListController(this, () => ({ services: this.services, catalog: this.catalog, userId: this.session?.userId ?? '' }))

  override render() {
    const unsent = this.orders.unsent
    const pending = this.uploads.pending
    return html`
      <h1>Account</h1>
      <section class="card">
        <p><strong>${this.session.name}</strong></p>
        <p class="muted">${this.session.email}</p>
      </section>
      ${this.renderHomeStore()}
      ${this.expired ? html`
        <section class="card">
          <ls-sign-in heading="Sign in again" .mode=${'sign-in'} .busy=${this.busy} .error=${this.error} .online=${this.online}></ls-sign-in>
        </section>` : nothing}
      <section class="card stack">
        <h2>Sign out</h2>
        <p class="muted">Signing out removes your orders and photos from this device. Orders the print service has received stay there; sign in again to see them.</p>
        ${unsent || pending ? html`
          <p class="notice warn">Not everything has left this device: ${[unsent ? `${plural(unsent, 'order')} not sent` : '', pending ? `${plural(pending, 'photo')} not uploaded` : ''].filter(Boolean).join(' and ')}. Signing out now loses ${unsent + pending === 1 ? 'it' : 'them'}.</p>` : nothing}
        ${this.confirm ? html`
          <div class="row" role="group" aria-label="Sign out and remove data from this device?">
            <button class="danger" ?disabled=${this.busy} @click=${() => this.dispatchEvent(new CustomEvent('sign-out', { bubbles: true, composed: true }))}>Yes, sign out</button>
            <button @click=${() => { this.confirm = false }}>Stay signed in</button>
          </div>` : html`
          <button class="danger wide" @click=${() => { this.confirm = true }}>Sign out</button>`}
      </section>
    `
  }

  private renderHomeStore() {
    const { workspace } = this.services
    const stores = this.catalog?.fronts.filter((f) => f.roles.includes('reception')) ?? []
    if (stores.length === 0) return nothing
    const home = workspace.homeStore
    const front = stores.find((f) => f.id === home.front)
    const link = workspace.storeStatus
    return html`
      <section class="card stack" aria-labelledby="home-heading">
        <h2 id="home-heading">Home store</h2>
        <div class="field">
          <label for="home-store">The store you usually order from</label>
          <select id="home-store" @change=${(e: Event) => workspace.setHomeFront((e.target as HTMLSelectElement).value || null)}>
            <option value="" ?selected=${!front}>No home store</option>
            ${stores.map((f) => html`<option value=${f.id} ?selected=${f.id === front?.id}>${f.name}</option>`)}
          </select>
        </div>
        <p class="muted small">
          ${!front ? 'With a home store that has an in-store link, your phone also talks to the store\'s own lab over the shop\'s Wi-Fi, so ordering there keeps working when its internet is down.'
            : home.blocked ? `${front.name}'s in-store link cannot be used from this secure page; ordering goes over the internet as usual.`
            : !home.wsUrl ? `${front.name} has no in-store link; ordering goes over the internet as usual.`
            : link === 'connected' ? html`<span data-store-link="connected">In-store link to ${front.name} connected.</span>`
            : `In the store, your phone connects to ${front.name}'s lab over the shop's Wi-Fi by itself.`}
        </p>
      </section>`
  }
}

customElements.define('ls-account', Account)
