// The app's routes in the address bar (the relay and the service worker answer every app path
// with index.html): `/`, `/orders/<id>`, `/prices`, `/account`.
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export type Route =
  | { name: 'orders' }
  | { name: 'order'; id: string }
  | { name: 'prices' }
  | { name: 'account' }

export function parseRoute(path: string): Route {
  const order = /^\/orders\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path)
  if (order) return { name: 'order', id: order[1] }
  if (path === '/prices') return { name: 'prices' }
  if (path === '/account') return { name: 'account' }
  return { name: 'orders' }
}

const NAVIGATE = 'labsync:navigate'

/** Goes to `path` without reloading; every RouteController follows. */
export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  dispatchEvent(new Event(NAVIGATE))
}

export class RouteController implements ReactiveController {
  route: Route = parseRoute(location.pathname)
  private readonly onChange = () => {
    this.route = parseRoute(location.pathname)
    this.host.requestUpdate()
    this.afterChange?.(this.route)
  }

  constructor(private readonly host: ReactiveControllerHost, private readonly afterChange?: (route: Route) => void) {
    host.addController(this)
  }

  /** Follows plain same-origin links inside the app instead of reloading the page. */
  readonly onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const anchor = event.composedPath().find((node): node is HTMLAnchorElement => node instanceof HTMLAnchorElement)
    if (!anchor || anchor.target || anchor.hasAttribute('download') || anchor.origin !== location.origin) return
    if (/^\/(api|sync|admin)\b/.test(anchor.pathname)) return
    event.preventDefault()
    navigate(anchor.pathname)
  }

  hostConnected(): void {
    addEventListener('popstate', this.onChange)
    addEventListener(NAVIGATE, this.onChange)
  }

  hostDisconnected(): void {
    removeEventListener('popstate', this.onChange)
    removeEventListener(NAVIGATE, this.onChange)
  }
}
