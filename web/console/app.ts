// The lab operator console (`labsync lab … --console`): sign in with the operator token, then the
// queue live with print, print next, print all, hold and release; the printers; today's history
// with ready, collected and reprint. State lives in ConsoleController; this element only renders.
import { LitElement, css, html, nothing } from 'lit'
import type { ReprintRequest } from '../../shared/console-wire.ts'
import { ConsoleController } from './console-controller.ts'
import type { OrderActionDetail } from './queue-table.ts'
import './queue-table.ts'
import './printers-panel.ts'
import './history-list.ts'

export class ConsoleApp extends LitElement {
  static override properties = {}
  private readonly console = new ConsoleController(this)

  static override styles = css`
    :host { display: block; min-height: 100vh; }
    header { background: #0b3d38; color: #fff; }
    .bar { max-width: 1440px; margin: 0 auto; padding: 10px 20px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
    h1 { font-size: 1.2rem; margin: 0; }
    h2 { font-size: 1.05rem; margin: 0; }
    .spacer { flex: 1; }
    .status { font-size: 0.9rem; opacity: 0.9; }
    main { max-width: 1440px; margin: 0 auto; padding: 16px 20px 48px; display: grid; gap: 20px; grid-template-columns: minmax(0, 1fr) 340px; align-items: start; }
    @media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
    section { display: grid; gap: 10px; }
    .head { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
    aside { display: grid; gap: 20px; }
    button { font: inherit; font-weight: 600; min-height: 36px; padding: 6px 14px; border-radius: 6px; border: 1px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    main button { color: #0b5c53; background: #fff; }
    main button.primary { background: #0b5c53; color: #fff; border-color: #0b5c53; }
    :focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
    .notice { border-radius: 8px; padding: 8px 12px; margin: 0; grid-column: 1 / -1; }
    .notice.error { background: #fdecec; color: #7f1414; border: 1px solid #e8a3a3; }
    .notice.info { background: #e6f4f1; color: #0b3d38; border: 1px solid #a9d4cc; }
    .muted { color: #4a5553; font-size: 0.9rem; }
    form.sign-in { max-width: 420px; margin: 10vh auto 0; display: grid; gap: 10px; padding: 0 20px; }
    form.sign-in input { font: inherit; padding: 8px 10px; min-height: 40px; border: 1px solid #7a8583; border-radius: 6px; }
    form.sign-in button { background: #0b5c53; color: #fff; border-color: #0b5c53; }
    label { font-weight: 700; }
  `

  override render() {
    const c = this.console
    if (!c.api) return this.renderSignIn()
    const queue = c.queue
    return html`
      <header><div class="bar">
        <h1>Lab console</h1>
        <span class="status" role="status">${queue ? `${queue.orders.length + queue.more} waiting · ${queue.busy ? 'printing' : 'idle'} · relay ${queue.relayConnected ? 'connected' : 'not connected'}${queue.auto ? ' · auto mode' : ''}` : 'Loading…'}</span>
        <span class="spacer"></span>
        ${c.token ? html`<button type="button" @click=${() => c.signOut()}>Sign out</button>` : nothing}
      </div></header>
      <main @order-action=${(event: CustomEvent<OrderActionDetail & { body?: ReprintRequest }>) => void c.act(event.detail.order, event.detail.action, event.detail.label, event.detail.body)}>
        <div aria-live="polite" style="grid-column: 1 / -1; display: grid; gap: 8px">
          ${c.error ? html`<p class="notice error" role="alert">${c.error}</p>` : nothing}
          ${c.notice ? html`<p class="notice info">${c.notice}</p>` : nothing}
        </div>
        <section aria-labelledby="queue-heading">
          <div class="head">
            <h2 id="queue-heading">Queue</h2>
            <span class="spacer"></span>
            <button type="button" class="primary" @click=${() => void c.printNext()}>Print next</button>
            <button type="button" @click=${() => void c.printAll()}>Print all</button>
          </div>
          <ls-console-queue .orders=${queue?.orders ?? []} .api=${c.api} .pending=${c.pending} ?auto=${queue?.auto ?? false} .timeZone=${queue?.timeZone}></ls-console-queue>
          ${queue?.more ? html`<p class="muted">and ${queue.more} more waiting</p>` : nothing}
        </section>
        <aside>
          <section aria-labelledby="printers-heading"><h2 id="printers-heading">Printers</h2>
            <ls-console-printers .printers=${c.printers}></ls-console-printers></section>
          <section aria-labelledby="history-heading"><h2 id="history-heading">Today${c.history ? html` <span class="muted">${c.history.day}</span>` : nothing}</h2>
            <ls-console-history .history=${c.history} .pending=${c.pending}></ls-console-history></section>
        </aside>
      </main>`
  }

  private renderSignIn() {
    const submit = (event: SubmitEvent) => {
      event.preventDefault()
      const token = String(new FormData(event.target as HTMLFormElement).get('token') ?? '')
      if (token.trim()) void this.console.signIn(token)
    }
    return html`<form class="sign-in" @submit=${submit}>
      <h1>Lab console</h1>
      <p class="muted">Sign in with the lab's operator token (the lab node's --operator-token). It is kept for this tab only.</p>
      <label for="token">Operator token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
      ${this.console.error ? html`<p class="notice error" role="alert">${this.console.error}</p>` : nothing}
      <button type="submit">Sign in</button>
    </form>`
  }
}

customElements.define('ls-console-app', ConsoleApp)
