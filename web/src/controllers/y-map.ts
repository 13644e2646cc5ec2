// Exposes a Y.Map as reactive state: the host re-renders whenever the map or anything inside it
// changes, locally, from another tab or from the relay. The map is chosen by a function, so a host
// can switch documents (another order) and the controller follows on its next update.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type * as Y from 'yjs'

export class YMapController<T> implements ReactiveController {
  private map: Y.Map<unknown> | null = null
  private cached: T | null | undefined = undefined
  private readonly onChange = () => {
    this.cached = undefined
    this.host.requestUpdate()
  }

  constructor(private readonly host: ReactiveControllerHost, private readonly select: () => Y.Map<unknown> | null | undefined) {
    host.addController(this)
  }

  /** The map as plain JSON; null while it is missing or empty. */
  get value(): T | null {
    this.follow()
    if (this.cached === undefined) this.cached = this.map && this.map.size > 0 ? (this.map.toJSON() as T) : null
    return this.cached
  }

  hostConnected(): void { this.follow() }
  hostUpdate(): void { this.follow() }
  hostDisconnected(): void { this.attach(null) }

  private follow(): void {
    const map = this.select() ?? null
    if (map !== this.map) this.attach(map)
  }

  private attach(map: Y.Map<unknown> | null): void {
    this.map?.unobserveDeep(this.onChange)
    this.map = map
    this.cached = undefined
    map?.observeDeep(this.onChange)
  }
}
