// Whether this device has a network connection, as the browser reports it, re-rendering the host
// when it changes and telling interested services (the upload queue) at the same moment.
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class OnlineController implements ReactiveController {
  online = navigator.onLine
  private readonly listeners = new Set<(online: boolean) => void>()
  private readonly onEvent = () => {
    this.online = navigator.onLine
    for (const listener of this.listeners) listener(this.online)
    this.host.requestUpdate()
  }

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  subscribe(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  hostConnected(): void {
    this.online = navigator.onLine
    addEventListener('online', this.onEvent)
    addEventListener('offline', this.onEvent)
  }

  hostDisconnected(): void {
    removeEventListener('online', this.onEvent)
    removeEventListener('offline', this.onEvent)
  }
}
