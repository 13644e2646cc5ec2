// The app shell: header with the connection sign, navigation, the banners (offline, session ended,
// new version) and the page for the current route. State lives in the controllers it holds.
import { LitElement, css, html, nothing } from 'lit'
import type { Catalog } from '../../../shared/schema.ts'
import { ChangesController } from '../controllers/events.ts'
import { OnlineController } from '../controllers/online.ts'
import { PwaController } from '../controllers/pwa.ts'
import { RouteController, navigate, type Route } from '../controllers/route.ts'
import { SessionController } from '../controllers/session.ts'
import { YMapController } from '../controllers/y-map.ts'
import { base } from './styles.ts'
import './sign-in.ts'

/** The signed-in screens, fetched once (signed-in.ts); Lit upgrades their elements when they arrive. */
let signedInScreens: Promise<unknown> | null = null
const loadSignedInScreens = () => { signedInScreens ??= import('./signed-in.ts') }

/** The public price list, only when someone not signed in asks for it. */
let publicPrices: Promise<unknown> | null = null
const loadPublicPrices = () => { publicPrices ??= import('./public-prices.ts') }

function relayUrls() {
  const httpUrl = location.origin
  return { httpUrl, wsUrl: httpUrl.replace(/^http/, 'ws') }
}

export class LabsyncApp extends LitElement {
  static override styles = [base, css`
    :host { min-height: 100vh; }
    header {
      position: sticky; top: 0; z-index: 2; background: #0b5c53; color: #fff;
      padding: 8px 16px calc(8px); padding-top: max(8px, env(safe-area-inset-top));
    }
    .bar { display: flex; align-items: center; justify-content: space-between; gap: 8px; max-width: 640px; margin: 0 auto; }
    .brand { font-weight: 800; font-size: 1.1rem; color: #fff; text-decoration: none; display: flex; align-items: center; gap: 8px; min-height: 2.75rem; }
    .brand img { width: 28px; height: 28px; border-radius: 6px; }
    .connection { font-size: 0.85rem; font-weight: 700; padding: 4px 10px; border-radius: 999px; background: #fff; }
    .connection.online { color: #0b5c53; }
    .connection.offline { color: #7a3e00; background: #ffe8c7; }
    .connection.connecting { color: #0a3d78; background: #dceafc; }
    .links { display: flex; gap: 6px; align-items: center; flex: none; }
    .connection, .store-link { white-space: nowrap; }
    .store-link { font-size: 0.8rem; font-weight: 700; padding: 3px 8px; border-radius: 999px; color: #fff; border: 1px solid rgba(255, 255, 255, 0.7); }
    .connection.in-store { color: #0b5c53; background: #e3f4f1; }
    nav { max-width: 640px; margin: 0 auto; display: flex; gap: 4px; flex-wrap: wrap; }
    nav a {
      color: #fff; text-decoration: none; padding: 0.625rem 0.75rem; min-height: 2.75rem; border-radius: 8px; font-size: 1rem;
      font-weight: 600; display: inline-flex; align-items: center;
    }
    nav a[aria-current='page'] { background: rgba(255, 255, 255, 0.18); text-decoration: underline; text-underline-offset: 4px; }
    nav a:focus-visible { outline-color: #fff; }
    main { max-width: 640px; margin: 0 auto; padding: 16px 16px 48px; }
    .banners { max-width: 640px; margin: 0 auto; padding: 12px 16px 0; }
    .banners .notice { margin: 0; }
    .banners .notice + .notice { margin-top: 8px; }
  `]

  private readonly pwa = new PwaController(this)
  private readonly online = new OnlineController(this)
  private readonly session = new SessionController(this, relayUrls())
  private readonly route = new RouteController(this, () => this.focusPage())
  private readonly changes = new ChangesController(this, () => [this.session.services?.workspace])
  private readonly catalog = new YMapController<Catalog>(this, () => this.session.services?.workspace.catalog.doc.getMap('catalog'))

  override connectedCallback(): void {
    super.connectedCallback()
    this.addEventListener('click', this.route.onClick)
  }

  override render() {
    const signedIn = this.session.session !== null && this.session.services !== null
    if (signedIn) loadSignedInScreens()
    else if (this.route.route.name === 'prices') loadPublicPrices()
    return html`
      <header>
        <div class="bar">
          <a class="brand" href="/"><img src="/icon.svg" alt="">labsync prints</a>
          ${this.renderConnection()}
        </div>
        ${signedIn ? this.renderNav() : this.renderPublicNav()}
      </header>
      <div class="banners" role="status" aria-live="polite">
        ${this.renderBanners()}
      </div>
      <main id="main">
        ${signedIn ? this.renderRoute(this.route.route) : this.route.route.name === 'prices' ? html`
          <ls-public-prices .origin=${location.origin}></ls-public-prices>` : html`
          <ls-sign-in
            .busy=${this.session.busy}
            .error=${this.session.error}
            .online=${this.online.online}
            @sign-in=${(e: CustomEvent) => this.session.signIn(e.detail)}
            @sign-up=${(e: CustomEvent) => this.session.signUp(e.detail)}
          ></ls-sign-in>`}
      </main>
    `
  }

  private renderConnection() {
    const workspace = this.session.services?.workspace
    // The in-store link shows only when it is there: an absent one is the usual case and says nothing.
    const inStore = this.online.online && workspace?.storeStatus === 'connected'
    const relay = !this.online.online ? 'offline' : workspace && workspace.user.status !== 'connected' ? 'connecting' : 'online'
    // With the relay out of reach and the store's lab node there, the store link is the connection.
    const state = relay === 'connecting' && inStore ? 'in-store' : relay
    const text = { offline: 'Offline', connecting: 'Connecting…', online: 'Online', 'in-store': 'In-store link' }[state]
    const label = state === 'in-store' ? 'Connection: in-store link to your home store; the internet service is out of reach' : `Connection: ${text}`
    return html`<span class="links">
      ${inStore && state === 'online' ? html`<span class="store-link" aria-label="In-store link to your home store" title="Connected to your home store's lab over the shop's Wi-Fi">In store</span>` : nothing}
      <span class="connection ${state}" aria-label=${label} data-store-link=${inStore ? 'connected' : 'none'}>${text}</span>
    </span>`
  }

  private renderNav() {
    const current = this.route.route.name
    const link = (href: string, label: string, active: boolean) =>
      html`<a href=${href} aria-current=${active ? 'page' : 'false'}>${label}</a>`
    return html`
      <nav aria-label="Main">
        ${link('/', 'Orders', current === 'orders' || current === 'order')}
        ${link('/prices', 'Prices & stores', current === 'prices')}
        ${link('/account', 'Account', current === 'account')}
      </nav>`
  }

  /** Before signing in: the price list is open to everyone. */
  private renderPublicNav() {
    const prices = this.route.route.name === 'prices'
    return html`
      <nav aria-label="Main">
        <a href="/" aria-current=${prices ? 'false' : 'page'}>Sign in</a>
        <a href="/prices" aria-current=${prices ? 'page' : 'false'}>Prices & stores</a>
      </nav>`
  }

  private renderBanners() {
    return html`
      ${this.pwa.needRefresh ? html`
        <div class="notice info row spread" role="alert">
          <span>A new version of the app is ready.</span>
          <span class="row">
            <button class="primary" @click=${() => this.pwa.update()}>Reload</button>
            <button class="link" @click=${() => this.pwa.dismiss()}>Later</button>
          </span>
        </div>` : nothing}
      ${!this.online.online ? html`
        <p class="notice warn">You are offline. You can keep composing and sending orders; they go out when the connection returns.</p>` : nothing}
      ${this.session.expired ? html`
        <p class="notice error">Your session has ended. Your work is kept on this device; <a href="/account">sign in again</a> to send it.</p>` : nothing}
    `
  }

  private renderRoute(route: Route) {
    const services = this.session.services!
    const session = this.session.session!
    const catalog = this.catalog.value
    switch (route.name) {
      case 'order':
        return html`<ls-order-page .services=${services} .orderId=${route.id} .userId=${session.userId} .catalog=${catalog} .online=${this.online.online}></ls-order-page>`
      case 'prices':
        return html`<ls-prices .catalog=${catalog}></ls-prices>`
      case 'account':
        return html`<ls-account
          .session=${session} .services=${services} .catalog=${catalog} .busy=${this.session.busy} .expired=${this.session.expired}
          .error=${this.session.error} .online=${this.online.online}
          @sign-out=${() => this.session.signOut().then(() => navigate('/', true))}
          @sign-in=${(e: CustomEvent) => this.session.signIn(e.detail)}
        ></ls-account>`
      default:
        return html`<ls-orders .services=${services} .catalog=${catalog} .userId=${session.userId}></ls-orders>`
    }
  }

  /** After a route change, move focus to the new page's heading, as a page load would. */
  private focusPage(): void {
    scrollTo(0, 0)
    void this.updateComplete.then(() => {
      const page = this.renderRoot.querySelector('main')?.firstElementChild as (HTMLElement & { updateComplete?: Promise<unknown> }) | null
      void Promise.resolve(page?.updateComplete).then(() => {
        const heading = page?.shadowRoot?.querySelector('h1') as HTMLElement | null
        if (!heading) return
        heading.tabIndex = -1
        heading.focus({ preventScroll: true })
      })
    })
  }
}

customElements.define('labsync-app', LabsyncApp)
