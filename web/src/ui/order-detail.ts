// A sent order: where it stands (on this device, sent, received in store, received, waiting for
// photos, at the lab, ready at the pickup store, collected), its prints, the receipt with its lines
// and discounts, the stores, and the actions left: cancel (until printing starts), reorder.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog, Front } from '../../../shared/schema.ts'
import type { Services } from '../controllers/session.ts'
import type { OrderView } from '../orders/order-doc.ts'
import type { Standing, StepState } from '../orders/stage.ts'
import { STAGE_HINT, formatDateTime, orderTitle, photoNamesOf, pickupFrontOf, plural, priceLines, stageBadge, stageText } from './format.ts'
import { storeCard } from './store-info.ts'
import { base } from './styles.ts'
import './photo-row.ts'

export class OrderDetail extends LitElement {
  static override properties = {
    view: { attribute: false },
    catalog: { attribute: false },
    services: { attribute: false },
    /** Where the order stands (controllers/order.ts): its sign, steps, estimate and actions. */
    standing: { attribute: false },
    pendingUploads: { type: Number },
    denials: { attribute: false },
    storeDenials: { attribute: false },
    confirmCancel: { state: true },
  }

  view!: OrderView
  catalog: Catalog | null = null
  services!: Services
  standing!: Standing
  pendingUploads = 0
  denials: string[] = []
  storeDenials: string[] = []
  confirmCancel = false

  static override styles = [base, css`
    ol.steps { list-style: none; padding: 0; margin: 0; display: grid; gap: 10px; }
    ol.steps li { display: grid; grid-template-columns: 28px 1fr; gap: 8px; align-items: start; }
    .mark {
      width: 24px; height: 24px; border-radius: 50%; border: 2px solid #7a8583; display: inline-flex;
      align-items: center; justify-content: center; font-size: 0.8rem; font-weight: 800; color: #fff;
    }
    li.done .mark { background: #0b5c53; border-color: #0b5c53; }
    li.current .mark { border-color: #0a4f9c; background: #e8f1fd; }
    li.failed .mark { background: #9b1c1c; border-color: #9b1c1c; }
    .step-title { font-weight: 700; }
    .items { list-style: none; padding: 0; margin: 12px 0 0; }
    .items li + li { border-top: 1px solid #eceff0; padding-top: 12px; margin-top: 12px; }
    .actions { display: grid; gap: 8px; }
  `]

  override render() {
    const { view } = this
    const { stage, estimate, actions } = this.standing
    const pickup = this.front(pickupFrontOf(view.spec) ?? '')
    const reception = this.front(view.spec.front ?? '')
    const names = photoNamesOf(view.spec.items, this.services.workspace.photos())
    return html`
      <div class="spread">
        <h1>${view.receipt?.number ? orderTitle(view.spec, view.receipt) : 'Order'}</h1>
        ${stageBadge(stage, pickup?.name)}
      </div>
      <p class="muted small" role="status">Started ${formatDateTime(view.spec.createdAt)}. ${stage === 'in-store' && view.instore
        ? `Received in store ${formatDateTime(view.instore.receivedAt)}; the print service confirms it when the store is back online.`
        : stage === 'ready' && pickup ? `${stageText(stage, pickup.name)}.` : STAGE_HINT[stage]}</p>
      ${this.renderMissing()}
      ${this.denials.length ? html`<p class="notice error" role="alert">A change to this order was not accepted: ${this.denials[this.denials.length - 1]}</p>` : nothing}
      ${this.storeDenials.length && !view.receipt ? html`<p class="notice error" role="alert">Your store refused a change to this order: ${this.storeDenials[this.storeDenials.length - 1]}</p>` : nothing}
      ${view.receipt?.status === 'rejected' ? html`<p class="notice error" role="alert">${view.receipt.error ?? 'The order was not accepted.'}</p>` : nothing}

      <section class="card" aria-labelledby="where-heading">
        <h2 id="where-heading">Where it is</h2>
        ${this.renderSteps()}
      </section>

      <section class="card" aria-labelledby="receipt-heading">
        <h2 id="receipt-heading">${view.receipt?.status === 'accepted' ? 'Receipt' : 'Estimate'}</h2>
        ${view.receipt?.status === 'accepted' ? html`
          ${priceLines(view.receipt.lines, view.receipt.total, view.receipt.currency, 'Total', view.receipt.discount, names)}
          <p class="muted small">Received ${formatDateTime(view.receipt.receivedAt)}${this.labName(view.receipt.lab)}.</p>`
          : estimate ? html`
            ${priceLines(estimate.lines, estimate.total, estimate.currency, 'Estimated total', estimate.discount, names)}
            <p class="muted small">The price is final once the order is received; the receipt then shows it here.</p>`
          : html`<p class="muted">No price yet.</p>`}
      </section>

      ${reception && this.catalog ? storeCard(reception, pickup && pickup.id !== reception.id ? pickup : null, this.catalog.currency) : nothing}

      <section class="card" aria-labelledby="prints-heading">
        <h2 id="prints-heading">${plural(view.spec.items.length, 'photo')}</h2>
        <p class="muted small">Store: ${this.frontName(view.spec.front ?? '')}</p>
        <ul class="items">
          ${view.spec.items.map((item, index) => html`
            <li>
              ${this.catalog ? html`<ls-photo-row
                .item=${item} .index=${index} .catalog=${this.catalog} .front=${view.spec.front ?? ''}
                .info=${this.services.workspace.photos().get(item.image)}
                .thumb=${this.services.photos.thumbUrl(item.image)}
                .upload=${this.services.uploads.state(item.image)}
              ></ls-photo-row>` : html`${item.product} × ${item.qty}`}
            </li>`)}
        </ul>
      </section>

      <div class="actions">
        ${actions.reorder ? html`<button class="primary wide" @click=${() => this.emit('reorder')}>Order these again</button>` : nothing}
        ${actions.cancel ? this.confirmCancel ? html`
          <div class="row" role="group" aria-label="Cancel this order?">
            <button class="danger" @click=${() => { this.confirmCancel = false; this.emit('cancel-order') }}>Yes, cancel the order</button>
            <button @click=${() => { this.confirmCancel = false }}>Keep it</button>
          </div>` : html`
          <button class="danger wide" @click=${() => { this.confirmCancel = true }}>Cancel order</button>` : nothing}
      </div>
    `
  }

  /** A received order some of whose photos have not arrived: which ones, and where they come from. */
  private renderMissing() {
    const missing = this.standing.missing
    if (missing.length === 0) return nothing
    const photos = this.services.workspace.photos()
    return html`
      <div class="notice warn" role="note">
        <p><strong>Waiting for ${plural(missing.length, 'photo')}:</strong></p>
        <ul>${missing.map((sha256) => {
          const name = photos.get(sha256)?.name ?? `a photo (${sha256.slice(0, 8)}…)`
          const here = this.services.uploads.state(sha256)
          return html`<li>${name}: ${here && here.status !== 'done'
            ? 'on this device; it uploads while this app is open and online.'
            : 'it uploads from the device it was added on: open this app there while online.'}</li>`
        })}</ul>
      </div>`
  }

  private renderSteps() {
    const { view, pendingUploads } = this
    const { stage, steps, pickup } = this.standing
    const { instore, progress } = view
    const step = (state: StepState, title: string, detail: unknown = nothing) => html`
      <li class=${state} aria-current=${state === 'current' ? 'step' : 'false'}>
        <span class="mark" aria-hidden="true">${state === 'done' ? '✓' : state === 'failed' ? '!' : ''}</span>
        <span><span class="step-title">${title}</span>
          <span class="visually-hidden">${state === 'done' ? '(done)' : state === 'current' ? '(in progress)' : state === 'failed' ? '(failed)' : '(not yet)'}</span>
          ${detail !== nothing ? html`<br><span class="muted small">${detail}</span>` : nothing}</span>
      </li>`
    // Step titles are nouns of the way, not the sign's words: the sign (badge) says where it is now.
    const labTitle = steps.lab === 'done' ? 'Printed at the lab' : steps.lab === 'failed' && stage !== 'cancelled' ? 'Printing at the lab (a problem)' : 'Printing at the lab'
    const labDetail = progress && stage !== 'cancelled'
      ? `${progress.status === 'held' ? 'Waiting for a printer. ' : ''}Updated ${formatDateTime(progress.updatedAt)}` : nothing
    const pickupStore = this.frontName(pickupFrontOf(view.spec) ?? '')
    return html`
      <ol class="steps">
        ${step(steps.sent ? 'done' : 'current', steps.sent ? 'Sent' : 'Waiting for a connection to send',
          !steps.sent ? 'It goes out by itself when this device is online.' : stage === 'sent-store' ? 'To your home store.' : nothing)}
        ${instore ? step('done', 'Received in store', `${formatDateTime(instore.receivedAt)} · ${this.frontName(instore.front)}`) : nothing}
        ${step(steps.relay, stage === 'waiting-photos' ? 'Received; waiting for photos' : 'Received',
          view.receipt && stage !== 'waiting-photos' ? formatDateTime(view.receipt.receivedAt)
            : pendingUploads > 0 ? `Waiting for ${plural(pendingUploads, 'photo')} to finish uploading.`
            : instore || stage === 'sent-store' ? 'The store passes your order on when its internet link is up; it is priced then.' : nothing)}
        ${stage === 'cancelled' ? step('failed', 'Cancelled') : step(steps.lab, labTitle, labDetail)}
        ${stage === 'cancelled' || stage === 'rejected' ? nothing : step(pickup, `Pickup at ${pickupStore}`,
          stage === 'ready' ? 'Your prints are waiting for you.' : stage === 'collected' && progress ? `Collected ${formatDateTime(progress.updatedAt)}` : nothing)}
      </ol>`
  }

  private front(id: string): Front | undefined {
    return this.catalog?.fronts.find((f) => f.id === id)
  }

  private frontName(id: string): string {
    return this.catalog?.fronts.find((f) => f.id === id)?.name ?? id
  }

  private labName(id: string): string {
    const lab = this.catalog?.labs.find((l) => l.id === id)
    return lab ? ` for ${lab.name}` : ''
  }

  private emit(name: string): void {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }))
  }
}

customElements.define('ls-order-detail', OrderDetail)
